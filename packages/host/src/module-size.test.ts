import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { moduleSizeProblem } from "./module-size.js";

const limits = { maxModuleBytes: 300 * 1024, maxModuleGzipBytes: 120 * 1024 };

describe("moduleSizeProblem", () => {
  it("T36 a module over 300 KB uncompressed is refused, naming its size and the limit", () => {
    const module = new Uint8Array(300 * 1024 + 1);
    expect(moduleSizeProblem(module, limits)).toBe(`module too large: ${300 * 1024 + 1} bytes uncompressed (limit ${300 * 1024})`);
  });

  it("T36 a module at exactly 300 KB of compressible bytes passes", () => {
    expect(moduleSizeProblem(new Uint8Array(300 * 1024), limits)).toBeUndefined();
  });

  it("T36 a module under 300 KB whose bytes do not compress below 120 KB is refused by its gzipped size", () => {
    const module = randomBytes(200 * 1024);
    const gz = gzipSync(module).byteLength;
    expect(gz).toBeGreaterThan(120 * 1024);
    expect(moduleSizeProblem(module, limits)).toBe(`module too large: ${gz} bytes gzipped (limit ${120 * 1024})`);
  });
});
