import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createTempDir } from "@clawft/test-utils";
import { describe, expect, it } from "vitest";
import { FsPlatformError } from "./errors.js";
import { probeDescriptorPaths, resolveFsOptions } from "./options.js";

describe("platform probe", () => {
  it("refuses to start with a clear error when /proc/self/fd is missing (no silent string-check fallback)", async () => {
    await using dir = await createTempDir("clawft-fs-probe-");
    const root = join(dir.path, "root");
    const fakeProc = join(dir.path, "empty-proc");
    mkdirSync(root);
    mkdirSync(fakeProc);
    const opts = await resolveFsOptions({ allowedPaths: [root] });
    const home = opts.home;
    expect(home).toBeDefined();
    if (home === undefined) return;
    let caught: unknown;
    try {
      await probeDescriptorPaths(home, fakeProc);
    } catch (err) {
      caught = err;
    }
    expect(FsPlatformError.isInstance(caught)).toBe(true);
    expect((caught as FsPlatformError).code).toBe("FS_UNSUPPORTED_PLATFORM");
    expect((caught as Error).message).toMatch(/\/proc\/self\/fd is not available/);
    // The real /proc passes.
    await probeDescriptorPaths(home);
  });

  it("resolved options are frozen and carry the defaults", async () => {
    await using dir = await createTempDir("clawft-fs-opts-");
    const opts = await resolveFsOptions({ allowedPaths: [dir.path] });
    expect(Object.isFrozen(opts)).toBe(true);
    expect(Object.isFrozen(opts.roots)).toBe(true);
    expect(opts.maxReadBytes).toBe(8 * 1024 * 1024);
    expect(opts.maxWriteBytes).toBe(4 * 1024 * 1024);
    expect(opts.home?.real).toBe(dir.path);
  });
});
