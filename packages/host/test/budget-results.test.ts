import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PluginError, createHost, createJsonlAuditSink, formatLogLine, type Plugin } from "@clawft/host";
import { createTempDir } from "@clawft/test-utils";
import { fixture, manifest, rejection, testCacheDir, testHost, type TestHost } from "./helpers.js";

const MiB = 1024 * 1024;
const packageDir = fileURLToPath(new URL("..", import.meta.url));

let t: TestHost;
/** The hostile plugin under test (default limits) and a bystander plugin in the same host. */
let hostile: Plugin;
let other: Plugin;

beforeAll(async () => {
  t = testHost();
  hostile = await t.host.load({ manifest: manifest("test.results.hostile"), wasm: await fixture("hostile-results") });
  other = await t.host.load({ manifest: manifest("test.results.other"), wasm: await fixture("tool-basic") });
});

afterAll(async () => {
  await t.host.close();
});

/** The plugin's next call and another plugin's call still work after a refusal. */
async function stillServes(p: Plugin = hostile): Promise<void> {
  await expect(p.executeTool("repeat", ["[1,", 1, "2]", 1])).resolves.toEqual([1, 2]);
  await expect(other.executeTool("echo", { still: "fine" })).resolves.toEqual({ still: "fine" });
}

describe("T54 results over maxResultBytes", () => {
  it("T54 a 2 MiB result over the 1 MiB default is refused with PLUGIN_RESULT_TOO_LARGE; next call and another plugin work", async () => {
    const error = await rejection(hostile.executeTool("repeat", ['"', 1, "a", 2 * MiB, '"', 1]));
    expect(PluginError.isInstance(error)).toBe(true);
    expect(error.code).toBe("PLUGIN_RESULT_TOO_LARGE");
    expect(error.message).toBe(`result too large: ${2 * MiB + 2} bytes (limit ${MiB})`);
    expect((error as PluginError).pluginId).toBe("test.results.hostile");
    await stillServes();
  });

  it("T54 a result of exactly the limit passes (as JSON), and a non-JSON result is the raw string", async () => {
    const atLimit = (await hostile.executeTool("repeat", ['"', 1, "b", MiB - 2, '"', 1])) as string;
    expect(atLimit).toHaveLength(MiB - 2);
    await expect(hostile.executeTool("repeat", ["not json ", 2])).resolves.toBe("not json not json ");
  });

  it("T54 resources.max_result_bytes lowers the limit per plugin; hardLimits.maxResultBytes caps it", async () => {
    const small = await t.host.load({
      manifest: manifest("test.results.small", { resources: { max_result_bytes: 1000 } }),
      wasm: await fixture("hostile-results"),
    });
    expect(small.resources.maxResultBytes).toBe(1000);
    const error = await rejection(small.executeTool("repeat", ["x", 1001]));
    expect(error.code).toBe("PLUGIN_RESULT_TOO_LARGE");
    expect(error.message).toBe("result too large: 1001 bytes (limit 1000)");
    await expect(small.executeTool("repeat", ["x", 1000])).resolves.toBe("x".repeat(1000));
    await stillServes(small);
    await small.close();

    const capped = testHost({ hardLimits: { maxResultBytes: 100 } });
    try {
      const p = await capped.host.load({
        manifest: manifest("test.results.capped", { resources: { max_result_bytes: 10 * MiB } }),
        wasm: await fixture("hostile-results"),
      });
      expect(p.resources.maxResultBytes).toBe(100);
      expect((await rejection(p.executeTool("repeat", ["y", 101]))).code).toBe("PLUGIN_RESULT_TOO_LARGE");
      await expect(p.executeTool("repeat", ["y", 100])).resolves.toBe("y".repeat(100));
    } finally {
      await capped.host.close();
    }
  });
});

describe("T55 result depth and shape", () => {
  it("T55 [{},{},...] (349,525 objects in 1 MiB) is refused with PLUGIN_RESULT_TOO_COMPLEX; next call and another plugin work", async () => {
    const count = 349_524;
    const error = await rejection(hostile.executeTool("repeat", ["[", 1, "{},", count, "{}]", 1]));
    expect(error.code).toBe("PLUGIN_RESULT_TOO_COMPLEX");
    const bytes = 1 + 3 * count + 3;
    expect(error.message).toBe(
      `result too complex: ${count + 2} objects and arrays (limit ${1024 + Math.floor(bytes / 16)} for ${bytes} bytes)`,
    );
    await stillServes();
  });

  it("T55 a result nested 65 levels deep is refused with PLUGIN_RESULT_TOO_DEEP; 64 levels pass", async () => {
    const error = await rejection(hostile.executeTool("repeat", ["[", 65, "]", 65]));
    expect(error.code).toBe("PLUGIN_RESULT_TOO_DEEP");
    expect(error.message).toBe("result nested too deeply: 65 levels (limit 64)");
    const ok = await hostile.executeTool("repeat", ["[", 64, "]", 64]);
    expect(JSON.stringify(ok)).toBe("[".repeat(64) + "]".repeat(64));
    // A million levels (in 2 MiB, under a raised limit) is refused too, without a stack overflow.
    const big = await t.host.load({
      manifest: manifest("test.results.deep", { resources: { max_result_bytes: 4 * MiB } }),
      wasm: await fixture("hostile-results"),
    });
    const deep = await rejection(big.executeTool("repeat", ["[", 1_000_000, "]", 1_000_000]));
    expect(deep.code).toBe("PLUGIN_RESULT_TOO_DEEP");
    expect(deep.message).toBe("result nested too deeply: 1000000 levels (limit 64)");
    await stillServes(big);
    await big.close();
  });

  it("T55 unbalanced brackets are not JSON: returned as the raw string, not refused", async () => {
    await expect(hostile.executeTool("repeat", ["[", 100])).resolves.toBe("[".repeat(100));
  });
});

describe("T57 guest error strings are cut", () => {
  it("T57 an 8 MiB tool error is cut to 4 KiB with its full length; next call and another plugin work", async () => {
    const error = await rejection(hostile.executeTool("fail-repeat", ["e", 8 * MiB]));
    expect(error.code).toBe("PLUGIN_TOOL_ERROR");
    expect(error.message).toBe(`${"e".repeat(4096)}... [truncated, ${8 * MiB} bytes]`);
    await stillServes();
  });

  it("T57 a cut never splits a character", async () => {
    const error = await rejection(hostile.executeTool("fail-repeat", ["a", 1, "€", 3000]));
    // 1 + 3 * 1365 = 4096 bytes fit; the next euro sign would not.
    expect(error.message).toBe(`a${"€".repeat(1365)}... [truncated, ${1 + 3 * 3000} bytes]`);
    expect(Buffer.from(error.message, "utf8").toString("utf8")).toBe(error.message); // well-formed UTF-16
  });

  it("T57 a 15 MiB init error payload is cut to 4 KiB in PLUGIN_INIT_FAILED; the host and other plugins go on", async () => {
    const error = await rejection(t.host.load({ manifest: manifest("test.results.init"), wasm: await fixture("init-error-huge") }));
    expect(error.code).toBe("PLUGIN_INIT_FAILED");
    expect(error.message).toBe(`plugin init failed: ${"x".repeat(4096)}... [truncated, ${15 * MiB} bytes]`);
    await stillServes();
  });

  it("T57 a huge describe() is refused at load with the result bounds (never parsed on the main thread)", async () => {
    const { buildFixture } = await import("@clawft/wasm-fixtures");
    const wasm = await buildFixture("tool-basic", {
      describe: { name: "x", version: "1.0.0", tools: [], pad: Array.from({ length: 2000 }, () => []) },
    });
    const error = await rejection(t.host.load({ manifest: manifest("test.results.describe"), wasm }));
    expect(error.code).toBe("PLUGIN_INIT_FAILED");
    expect(error.message).toBe("plugin init failed: describe failed: result too complex: 2003 objects and arrays (limit 1402 for 6049 bytes)");
    await stillServes();
  });
});

/** Runs `node` with `args` in the host package folder (killed if it hangs: a hang is a failure). */
function runNode(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("T54/T55 the main heap stays bounded (child process with a small heap)", () => {
  it("T55 a 12 MiB [{},{},...] result (about 256 MiB once parsed) is refused in the worker of a host whose main heap is capped at 160 MiB", { timeout: 120_000 }, async () => {
    const dir = await createTempDir("clawft-results-heap-");
    try {
      const wasmPath = join(dir.path, "hostile-results.wasm");
      await writeFile(wasmPath, await fixture("hostile-results"));
      const code = [
        'import { readFileSync } from "node:fs";',
        'import { createHost } from "@clawft/host";',
        `const host = createHost({ cacheDir: ${JSON.stringify(testCacheDir)}, spareWorkers: 0 });`,
        "const wasm = readFileSync(process.argv[1]);",
        'const m = { name: "h", version: "1.0.0", capabilities: ["tool"], resources: { max_result_bytes: 16 * 1024 * 1024, max_memory_mb: 64 } };',
        'const p = await host.load({ manifest: { ...m, id: "test.heap.hostile" }, wasm });',
        "const out = [];",
        "for (let i = 0; i < 3; i++) {",
        '  try { await p.executeTool("repeat", ["[", 1, "{},", 4194303, "{}]", 1]); out.push("resolved"); }',
        "  catch (e) { out.push(e.code); }",
        "}",
        'try { await p.executeTool("repeat", ["\\"", 1, "a", 17 * 1024 * 1024, "\\"", 1]); out.push("resolved"); } catch (e) { out.push(e.code); }',
        'out.push(JSON.stringify(await p.executeTool("repeat", ["[7]", 1])));',
        "console.log(out.join(' '));",
        "await host.close();",
      ].join("\n");
      const r = await runNode(["--max-old-space-size=160", "--input-type=module", "--eval", code, wasmPath]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(
        "PLUGIN_RESULT_TOO_COMPLEX PLUGIN_RESULT_TOO_COMPLEX PLUGIN_RESULT_TOO_COMPLEX PLUGIN_RESULT_TOO_LARGE [7]",
      );
    } finally {
      await dir.cleanup();
    }
  });
});

describe("T56 plugin text in terminal and log lines", () => {
  const hostileMessage =
    "ok\n[clawft error] other.plugin: forged\r\x1b[31mred\x1b]0;pwned\x07\x00\u202eevil\u2066\u2069\u2028\x9b end";

  it("T56 formatLogLine: one line, the true prefix, every control and bidi character escaped", () => {
    const line = formatLogLine("info", hostileMessage, "test.log");
    expect(line).toBe(
      "[clawft info] test.log: ok\\n[clawft error] other.plugin: forged\\r\\x1b[31mred\\x1b]0;pwned\\x07\\x00\\u202eevil\\u2066\\u2069\\u2028\\x9b end\n",
    );
  });

  it("T56 the default stderr logger writes a hostile log message as exactly one escaped line; the plugin and another go on", { timeout: 120_000 }, async () => {
    const dir = await createTempDir("clawft-results-log-");
    try {
      const hostCalls = join(dir.path, "host-calls.wasm");
      const basic = join(dir.path, "tool-basic.wasm");
      await writeFile(hostCalls, await fixture("host-calls"));
      await writeFile(basic, await fixture("tool-basic"));
      const code = [
        'import { readFileSync } from "node:fs";',
        'import { createHost } from "@clawft/host";',
        `const host = createHost({ cacheDir: ${JSON.stringify(testCacheDir)}, spareWorkers: 0 });`,
        'const m = (id) => ({ id, name: "n", version: "1.0.0", capabilities: ["tool"] });',
        'const p = await host.load({ manifest: m("test.log.hostile"), wasm: readFileSync(process.argv[1]) });',
        'const q = await host.load({ manifest: m("test.log.other"), wasm: readFileSync(process.argv[2]) });',
        `for (const level of [0, 1, 2]) await p.executeTool("log", [level, ${JSON.stringify(hostileMessage)}]);`,
        'await p.executeTool("log", [2, "after"]);',
        'console.log(JSON.stringify(await q.executeTool("echo", ["other works"])));',
        "await host.close();",
      ].join("\n");
      const r = await runNode(["--input-type=module", "--eval", code, hostCalls, basic]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('["other works"]');
      const lines = r.stderr.split("\n");
      expect(lines.pop()).toBe(""); // every line ends with \n, and only there
      const escaped =
        "ok\\n[clawft error] other.plugin: forged\\r\\x1b[31mred\\x1b]0;pwned\\x07\\x00\\u202eevil\\u2066\\u2069\\u2028\\x9b end";
      expect(lines).toEqual([
        `[clawft error] test.log.hostile: ${escaped}`,
        `[clawft warn] test.log.hostile: ${escaped}`,
        `[clawft info] test.log.hostile: ${escaped}`,
        "[clawft info] test.log.hostile: after",
      ]);
      expect(r.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    } finally {
      await dir.cleanup();
    }
  });

  it("T56 the JSONL audit trail keeps plugin text (a path with bidi, C1, U+2028) out of the file raw; each line parses back to the same event", async () => {
    const dir = await createTempDir("clawft-results-audit-");
    const sink = createJsonlAuditSink(join(dir.path, "audit.jsonl"));
    const h = createHost({ cacheDir: testCacheDir, audit: sink, logger: t.logger });
    try {
      const p = await h.load({ manifest: manifest("test.audit.hostile"), wasm: await fixture("host-calls") });
      const path = "a\u202eb\u2028c\x9b\x7f\n[clawft error] x";
      // No filesystem grant: refused, and audited with the path as the plugin asked.
      expect((await rejection(p.executeTool("read", [path]))).message).toBe("filesystem access not permitted");
      await p.executeTool("env", ["N\u2066AME"]);
      sink.close();
      const text = await readFile(join(dir.path, "audit.jsonl"), "utf8");
      expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/);
      const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l) as { function: string; args: Record<string, unknown> });
      expect(lines.map((l) => l.function)).toEqual(["read-file", "get-env"]);
      expect(lines[0]?.args.path).toBe(path);
      expect(lines[1]?.args.name).toBe("N\u2066AME");
      await expect(p.executeTool("env", ["PATH"])).resolves.toBe("none");
    } finally {
      await h.close();
      sink.close();
      await dir.cleanup();
    }
  });

  it("T56 a custom logger still receives the plugin's text as it was (escaping is the line writer's job)", async () => {
    const p = await t.host.load({ manifest: manifest("test.log.custom"), wasm: await fixture("host-calls") });
    await p.executeTool("log", [2, "a\nb\x1b"]);
    expect(t.logger.lines.at(-1)).toEqual({ level: "info", message: "a\nb\x1b", pluginId: "test.log.custom" });
    await p.close();
  });
});

describe("createHost option", () => {
  it("T54 hardLimits.maxResultBytes is validated and capped at the 16 MiB hard maximum", () => {
    expect(() => createHost({ hardLimits: { maxResultBytes: 0 } })).toThrow(/hardLimits\.maxResultBytes must be a positive integer/);
    expect(() => createHost({ hardLimits: { maxResultBytes: 16 * MiB + 1 } })).toThrow(
      /hardLimits\.maxResultBytes must be at most 16777216/,
    );
  });
});
