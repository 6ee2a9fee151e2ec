import { buildFixture } from "@clawft/wasm-fixtures";
import { describe, expect, it } from "vitest";
import { ComponentCompiler } from "./compile.js";
import { LoadWorker } from "./load-worker-client.js";

const options = { maxMemoryBytes: 16 * 1024 * 1024, maxTableElements: 10_000 };

describe("ComponentCompiler memory cache", () => {
  it("is bounded: the least recently used component is dropped first, a hit refreshes it", { timeout: 120_000 }, async () => {
    const compiler = new ComponentCompiler(undefined, 2);
    const [a, b, c] = await Promise.all([buildFixture("tool-basic"), buildFixture("empty-tool"), buildFixture("trap")]);
    const first = await compiler.compile(a, options);
    await compiler.compile(b, options);
    // A hit returns the same compiled component and makes `a` the most recent.
    expect(await compiler.compile(a, options)).toBe(first);
    await compiler.compile(c, options);
    expect(compiler.has(a, options)).toBe(true);
    expect(compiler.has(b, options)).toBe(false);
    expect(compiler.has(c, options)).toBe(true);
    // A dropped component is simply compiled again.
    const again = await compiler.compile(b, options);
    expect(Object.keys(again.modules).length).toBeGreaterThan(0);
    expect(compiler.has(a, options)).toBe(false);
  });

  it("a failed build is not cached", async () => {
    const compiler = new ComponentCompiler(undefined, 2);
    const bad = new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 1, 2, 3]);
    await expect(compiler.compile(bad, options)).rejects.toMatchObject({ code: "PLUGIN_INVALID" });
    expect(compiler.has(bad, options)).toBe(false);
  });
});

describe("ComponentCompiler load work", () => {
  it("T58 caps the glue jco generates (defence in depth behind the type scan): PLUGIN_TOO_COMPLEX naming maxGlueBytes", async () => {
    const loader = new LoadWorker();
    try {
      const compiler = new ComponentCompiler(undefined, 2, loader, 1000);
      const error = await compiler.compile(await buildFixture("tool-basic"), options).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "PLUGIN_TOO_COMPLEX" });
      expect((error as Error).message).toMatch(/^component too complex: generated glue \d+ bytes exceeds 1000 \(maxGlueBytes\)$/);
      // The same worker then prepares a component under the cap.
      const ok = new ComponentCompiler(undefined, 2, loader);
      const compiled = await ok.compile(await buildFixture("tool-basic"), options);
      expect(Object.keys(compiled.modules)).toEqual(["plugin.core.wasm", "plugin.core2.wasm", "plugin.core3.wasm"]);
      expect(compiled.hostFunctions).toEqual(["http-request", "read-file", "write-file", "get-env", "log"]);
      expect(compiled.glueCodeCache?.byteLength).toBeGreaterThan(0);
    } finally {
      await loader.close();
    }
  });

  it("T62 an uncached component is transpiled and metered in the load worker's thread", async () => {
    const { subscribe, unsubscribe } = await import("node:diagnostics_channel");
    const { threadId } = await import("node:worker_threads");
    const seen: Array<{ op: string; threadId: number; steps: string[] }> = [];
    const onLoad = (m: unknown): void => void seen.push(m as (typeof seen)[number]);
    subscribe("clawft:load", onLoad);
    const loader = new LoadWorker();
    try {
      await new ComponentCompiler(undefined, 2, loader).compile(await buildFixture("empty-tool"), options);
    } finally {
      unsubscribe("clawft:load", onLoad);
      await loader.close();
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]?.op).toBe("prepare");
    expect(seen[0]?.threadId).not.toBe(threadId);
    expect(seen[0]?.steps).toContain("transpile");
    expect(seen[0]?.steps).toContain("meter:plugin.core.wasm");
  });

  it("T58 a load worker that runs out of heap fails the job with PLUGIN_TOO_COMPLEX, and the next job starts a new worker (never a hang)", async () => {
    // 8 MiB is too little for jco and metering themselves: every job ends the worker.
    const loader = new LoadWorker(8);
    try {
      const compiler = new ComponentCompiler(undefined, 2, loader);
      for (const name of ["tool-basic", "empty-tool"] as const) {
        const error = await compiler.compile(await buildFixture(name), options).catch((e: unknown) => e);
        expect(error, name).toMatchObject({
          code: "PLUGIN_TOO_COMPLEX",
          message: "component too complex: preparing it used more than 8 MiB (the load worker's heap)",
        });
      }
    } finally {
      await loader.close();
    }
  });

  it("T58 the load worker scans again before transpiling: a type bomb is refused even when the world check was skipped", async () => {
    const loader = new LoadWorker();
    try {
      const error = await new ComponentCompiler(undefined, 2, loader).compile(await buildFixture("nested-types"), options).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "PLUGIN_TOO_COMPLEX", message: "component too complex: expanded type size 8191 exceeds 4096 (maxTypeSize)" });
    } finally {
      await loader.close();
    }
  });

  it("a closed load worker refuses new work (PLUGIN_CLOSED)", async () => {
    const loader = new LoadWorker();
    await loader.close();
    await expect(new ComponentCompiler(undefined, 2, loader).compile(await buildFixture("trap"), options)).rejects.toMatchObject({ code: "PLUGIN_CLOSED" });
  });
});

describe("ComponentCompiler disk cache", () => {
  it("T85 a cache entry whose file was altered is rebuilt from the component, never run; the entry is rewritten", { timeout: 120_000 }, async () => {
    const { mkdtemp, readdir, readFile, rm, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "clawft-compile-cache-"));
    try {
      const wasm = await buildFixture("tool-basic");
      const first = new ComponentCompiler(dir, 2);
      await first.compile(wasm, options);
      const [entry] = (await readdir(dir)).filter((n) => !n.startsWith("."));
      expect(entry).toBeDefined();
      const index = JSON.parse(await readFile(join(dir, entry!, "index.json"), "utf8")) as { files: Record<string, string> };
      const core = Object.keys(index.files).find((n) => n.endsWith(".wasm"))!;
      const original = await readFile(join(dir, entry!, core));
      // An attacker's (or a bad disk's) version of a metered core module: same size, one byte changed.
      const altered = Buffer.from(original);
      altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 0xff;
      await writeFile(join(dir, entry!, core), altered);

      const second = new ComponentCompiler(dir, 2);
      const compiled = await second.compile(wasm, options);
      expect(Object.keys(compiled.modules)).toContain(core);
      // Rebuilt from the component: the entry holds the metered module again, not the altered bytes.
      expect(Buffer.compare(await readFile(join(dir, entry!, core)), original)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("world-check verdicts in the disk cache", () => {
  it("T89 a verdict is bound to the component's sha256 and the wasi mode; without a cacheDir nothing is recorded", async () => {
    const { mkdtemp, readdir, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "clawft-verdicts-"));
    try {
      const digest = "a".repeat(64);
      const first = new ComponentCompiler(dir, 2);
      expect(await first.passedWorldCheck(digest, "refuse")).toBe(false);
      await first.recordWorldCheck(digest, "refuse");
      // A new compiler (the next process) sees the record; another digest or mode does not.
      const next = new ComponentCompiler(dir, 2);
      expect(await next.passedWorldCheck(digest, "refuse")).toBe(true);
      expect(await next.passedWorldCheck("b".repeat(64), "refuse")).toBe(false);
      expect(await next.passedWorldCheck(digest, "deny")).toBe(false);
      expect(await readdir(join(dir, "checked"))).toHaveLength(1);
      const memoryOnly = new ComponentCompiler(undefined, 2);
      await memoryOnly.recordWorldCheck(digest, "refuse");
      expect(await memoryOnly.passedWorldCheck(digest, "refuse")).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
