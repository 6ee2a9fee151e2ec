import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJsonlAuditSink, type AuditEvent, type JsonlAuditSink, type Plugin } from "@clawft/host";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { fixture, manifest, recordingLogger, rejection, testCacheDir, type LogLine } from "./helpers.js";
import { createHost, type Host } from "@clawft/host";

/**
 * Hostile host-call arguments (T49, T50, T61) and floods (T51, T52), through real
 * components: `hostile-args` (served by the direct lowering) and `hostile-args-jco`
 * (the same code without a `cabi_realloc` export, served by jco's trampolines).
 * The hostile plugins hold no permission at all. After each attack, the plugin's
 * next call and another plugin's call still work.
 */

// FN codes of the hostile-args fixture's tools.
const METHOD = 0;
const URL_ARG = 1;
const HEADERS = 2;
const READ_PATH = 3;
const WRITE_PATH = 4;
const WRITE_CONTENT = 5;
const ENV_NAME = 6;
const LOG = 7;
const BODY = 8;
/** FILL value for "no bytes, the length alone" (address 0). */
const LENGTH_ONLY = 256;
const MiB = 1024 * 1024;

interface Bench {
  dir: TempDir;
  host: Host;
  sink: JsonlAuditSink;
  events: AuditEvent[];
  lines: LogLine[];
  other: Plugin;
}

async function bench(name: string): Promise<Bench> {
  const dir = await createTempDir(`clawft-${name}-`);
  const sink = createJsonlAuditSink(join(dir.path, "audit.jsonl"));
  const events: AuditEvent[] = [];
  const logger = recordingLogger();
  const host = createHost({
    cacheDir: testCacheDir,
    logger,
    audit: (e) => {
      events.push(e);
      sink(e);
    },
  });
  const other = await host.load({ manifest: manifest(`test.${name}.other`), wasm: await fixture("host-calls") });
  return { dir, host, sink, events, lines: logger.lines, other };
}

async function stillWorks(b: Bench, p: Plugin): Promise<void> {
  // The hostile plugin's next call, and another plugin's call.
  await expect(p.executeTool("call", [LOG, 5, 65])).resolves.toBe("ok");
  await expect(b.other.executeTool("log", [2, "other plugin"])).resolves.toBe("ok");
}

const cases: Array<{ what: string; params: [number, number, number]; message: string; code: string; args: Record<string, unknown> }> = [
  { what: "a 30 MiB path (length alone)", params: [READ_PATH, 30 * MiB, LENGTH_ONLY], message: "argument too large: path is 31457280 bytes (limit 4096)", code: "ARGUMENT_TOO_LARGE", args: { argument: "path", pathBytes: 30 * MiB, limit: 4096 } },
  { what: "a 1 MiB path of control bytes", params: [READ_PATH, MiB, 1], message: "argument too large: path is 1048576 bytes (limit 4096)", code: "ARGUMENT_TOO_LARGE", args: { argument: "path", pathBytes: MiB } },
  { what: "a 5000-byte write path", params: [WRITE_PATH, 5000, 47], message: "argument too large: path is 5000 bytes", code: "ARGUMENT_TOO_LARGE", args: { pathBytes: 5000 } },
  { what: "a 17-byte method", params: [METHOD, 17, 71], message: "argument too large: method is 17 bytes (limit 16)", code: "ARGUMENT_TOO_LARGE", args: { methodBytes: 17 } },
  { what: "a 9000-byte URL", params: [URL_ARG, 9000, 104], message: "argument too large: url is 9000 bytes (limit 8192)", code: "ARGUMENT_TOO_LARGE", args: { urlBytes: 9000 } },
  { what: "2000 header entries", params: [HEADERS, 2000, 1], message: "argument too large: headers is 2000 entries (limit 1024)", code: "ARGUMENT_TOO_LARGE", args: { headersCount: 2000 } },
  { what: "600 entries naming one 2 KiB string (1.2 MB of headers)", params: [HEADERS, 600, 2048], message: "argument too large: headers is 1228800 bytes (limit 1048576)", code: "ARGUMENT_TOO_LARGE", args: { headersBytes: 1_228_800 } },
  { what: "a 2 MiB body", params: [BODY, 2 * MiB, 120], message: "request body too large: 2097152 bytes (limit 1048576)", code: "HTTP_BODY_TOO_LARGE", args: { bodyBytes: 2 * MiB } },
  { what: "a 5 MiB write (length alone)", params: [WRITE_CONTENT, 5 * MiB, LENGTH_ONLY], message: "file too large: 5242880 bytes (limit 4194304)", code: "FS_TOO_LARGE", args: { contentBytes: 5 * MiB } },
];

function argumentSuite(fixtureName: "hostile-args" | "hostile-args-jco"): void {
  {
    let b: Bench;
    let p: Plugin;
    beforeAll(async () => {
      b = await bench(fixtureName);
      p = await b.host.load({ manifest: manifest(`test.${fixtureName}`), wasm: await fixture(fixtureName) });
    });
    afterAll(async () => {
      await b.host.close();
      b.sink.close();
      await b.dir.cleanup();
    });

    for (const c of cases) {
      it(`${c.what} is refused from its length before decoding: err ${c.code}, audit records the size`, async () => {
        const before = b.events.length;
        const error = await rejection(p.executeTool("call", c.params));
        expect(error.code).toBe("PLUGIN_TOOL_ERROR");
        expect(error.message.startsWith(c.message)).toBe(true);
        const events = b.events.slice(before);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ pluginId: p.id, result: "refused", code: c.code, args: c.args });
        // The event holds sizes only: never the argument (no string of it).
        expect(JSON.stringify(events[0]).length).toBeLessThan(400);
        await stillWorks(b, p);
      });
    }

    it(`a 5000-byte env name answers none (T25 semantics) and is audited by its size`, async () => {
      const before = b.events.length;
      await expect(p.executeTool("call", [ENV_NAME, 5000, 65])).resolves.toBe("none");
      expect(b.events.slice(before)).toEqual([
        expect.objectContaining({ function: "get-env", result: "refused", code: "ARGUMENT_TOO_LARGE", args: { argument: "name", nameBytes: 5000, limit: 1024 } }),
      ]);
      await stillWorks(b, p);
    });

    it(`T35 a 15 MiB invalid-UTF-8 log is cut in the worker: 4096 bytes logged, the audit has the original length`, async () => {
      const big = await b.host.load({
        manifest: manifest(`test.${fixtureName}.biglog`, { resources: { max_memory_mb: 32 } }),
        wasm: await fixture(fixtureName),
      });
      const before = b.lines.length;
      const eventsBefore = b.events.length;
      await expect(big.executeTool("call", [LOG, 15 * MiB, 255])).resolves.toBe("ok");
      const line = b.lines[before];
      expect(line?.pluginId).toBe(big.id);
      // 1365 U+FFFD (4095 bytes: the next one would pass 4096), then the suffix.
      expect(line?.message).toBe("\ufffd".repeat(1365) + "... [truncated]");
      expect(b.events.slice(eventsBefore)).toEqual([expect.objectContaining({ function: "log", result: "ok", args: { level: "info", bytes: 15 * MiB } })]);
      await stillWorks(b, big);
      await big.close();
    });

    it("T50 the JSONL audit of all these refusals stays small (a few hundred bytes an event)", async () => {
      const size = (await stat(b.sink.path)).size;
      expect(size).toBeGreaterThan(0);
      expect(size / b.events.length).toBeLessThan(400);
    });
  }
}

describe("T49 host-call arguments over their limits, through the direct lowering", () => {
  argumentSuite("hostile-args");
});

describe("T61 host-call arguments over their limits, through jco's trampolines (a module the direct lowering cannot serve)", () => {
  argumentSuite("hostile-args-jco");
});

describe("floods of cheap host calls", () => {
  let b: Bench;
  beforeAll(async () => {
    b = await bench("flood");
  });
  afterAll(async () => {
    await b.host.close();
    b.sink.close();
    await b.dir.cleanup();
  });

  it("T51 20,000 logs in a loop: 100 written, one RATE_LIMITED summary, under 1 MiB of audit for the minute", async () => {
    const p = await b.host.load({ manifest: manifest("test.flood.log"), wasm: await fixture("hostile-args") });
    const sizeBefore = (await stat(b.sink.path)).size;
    const linesBefore = b.lines.length;
    await expect(p.executeTool("flood", [LOG, 20_000, 200])).resolves.toBe(0);
    expect(b.lines.slice(linesBefore).filter((l) => l.pluginId === p.id && l.level === "info")).toHaveLength(100);
    await stillWorks(b, p);
    await p.close();
    const mine = b.events.filter((e) => e.pluginId === p.id);
    expect(mine.filter((e) => e.result === "ok")).toHaveLength(100);
    // The 19,901 dropped calls (the flood's and stillWorks' log): one summary event.
    expect(mine.filter((e) => e.code === "RATE_LIMITED")).toEqual([
      expect.objectContaining({ function: "log", result: "refused", args: { dropped: 19_901, limit: 100, windowMs: 60_000 } }),
    ]);
    const auditBytes = (await stat(b.sink.path)).size - sizeBefore;
    expect(auditBytes).toBeLessThan(MiB);
  });

  it("T52 a get-env flood: 1000 lookups a minute answer, the rest are none, summarised once", async () => {
    const env = "CLAWFT_H2_FLOOD_VAR";
    const host = createHost({ cacheDir: testCacheDir, audit: (e) => b.events.push(e), logger: recordingLogger(), sandbox: { env: { [env]: "v" } } });
    try {
      const p = await host.load({
        manifest: { ...manifest("test.flood.env", { env_vars: [env] }), name: "flood env" },
        wasm: await fixture("host-calls"),
        approvals: { env_vars: [env] },
      });
      const q = await host.load({ manifest: manifest("test.flood.env.other"), wasm: await fixture("host-calls") });
      for (let i = 0; i < 1000; i++) await expect(p.executeTool("env", [env])).resolves.toBe("some:v");
      // The 1001st lookup of the minute: none, as for a denied variable (T25 semantics).
      await expect(p.executeTool("env", [env])).resolves.toBe("none");
      await expect(p.executeTool("env", [env])).resolves.toBe("none");
      // The plugin's other calls and another plugin's lookups are unaffected.
      await expect(p.executeTool("log", [2, "still here"])).resolves.toBe("ok");
      await expect(q.executeTool("env", ["NOT_LISTED"])).resolves.toBe("none");
      await p.close();
      const mine = b.events.filter((e) => e.pluginId === p.id && e.function === "get-env");
      expect(mine.filter((e) => e.result === "ok")).toHaveLength(1000);
      expect(mine.filter((e) => e.code === "RATE_LIMITED")).toEqual([
        expect.objectContaining({ result: "refused", args: { dropped: 2, limit: 1000, windowMs: 60_000 } }),
      ]);
    } finally {
      await host.close();
    }
  });

  it("T52 max_env_lookups_per_minute lowers the limit; a flood inside one call gets none past it", async () => {
    const p = await b.host.load({
      manifest: manifest("test.flood.env.low", { resources: { max_env_lookups_per_minute: 50 } }),
      wasm: await fixture("hostile-args"),
    });
    // 10,000 lookups of a name that is not listed: all none; 50 audited, the rest summarised.
    await expect(p.executeTool("flood", [ENV_NAME, 10_000, 4])).resolves.toBe(0);
    await stillWorks(b, p);
    await p.close();
    const mine = b.events.filter((e) => e.pluginId === p.id && e.function === "get-env");
    expect(mine.filter((e) => e.code !== "RATE_LIMITED")).toHaveLength(50);
    expect(mine.filter((e) => e.code === "RATE_LIMITED")).toEqual([expect.objectContaining({ args: { dropped: 9950, limit: 50, windowMs: 60_000 } })]);
  });

  it("T53 a plugin flooding audited calls fills the JSONL sink only up to maxBytes × maxFiles (rotated, 0600)", async () => {
    const dir = await createTempDir("clawft-rotate-");
    const file = join(dir.path, "audit.jsonl");
    const sink = createJsonlAuditSink(file, { maxBytes: 20_000, maxFiles: 2 });
    const host = createHost({ cacheDir: testCacheDir, audit: sink, logger: recordingLogger() });
    try {
      const p = await host.load({ manifest: manifest("test.flood.rotate"), wasm: await fixture("hostile-args") });
      // 2000 reads with no filesystem grant: each one refused and audited (~200 bytes a line).
      await expect(p.executeTool("flood", [READ_PATH, 2000, 64])).resolves.toBe(2000);
      await expect(p.executeTool("call", [LOG, 5, 65])).resolves.toBe("ok");
      sink.close();
      const { readdir } = await import("node:fs/promises");
      expect((await readdir(dir.path)).sort()).toEqual(["audit.jsonl", "audit.jsonl.1"]);
      for (const name of ["audit.jsonl", "audit.jsonl.1"]) {
        const st = await stat(join(dir.path, name));
        expect(st.size).toBeLessThanOrEqual(20_000);
        expect(st.mode & 0o777).toBe(0o600);
      }
    } finally {
      await host.close();
      await dir.cleanup();
    }
  });
});
