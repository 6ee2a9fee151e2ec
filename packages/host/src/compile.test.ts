import { buildFixture } from "@clawft/wasm-fixtures";
import { describe, expect, it } from "vitest";
import { ComponentCompiler } from "./compile.js";

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
