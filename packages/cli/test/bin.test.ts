import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("the clawft-plugin bin", () => {
  it("is the file @clawft/cli's package.json names, and runs the built CLI", async () => {
    // Resolved through the published name, so the `bin` field and `files` are what is tested.
    const pkgPath = createRequire(import.meta.url).resolve("@clawft/cli/package.json");
    const pkg = (await import(pkgPath, { with: { type: "json" } })).default as {
      version: string;
      bin: Record<string, string>;
      files: string[];
    };
    const bin = pkg.bin["clawft-plugin"];
    expect(bin).toBeDefined();
    expect(pkg.files.some((f) => bin!.replace(/^\.\//, "").startsWith(f))).toBe(true);
    const { stdout } = await run(process.execPath, [join(dirname(pkgPath), bin!), "--version"]);
    expect(stdout.trim()).toBe(`clawft-plugin ${pkg.version} (@clawft/cli)`);
  });

  it("is not in @clawft/host: library users of the host install no command", async () => {
    const hostPkgPath = createRequire(import.meta.url).resolve("@clawft/host/package.json");
    const hostPkg = (await import(hostPkgPath, { with: { type: "json" } })).default as { bin?: unknown; files: string[] };
    expect(hostPkg.bin).toBeUndefined();
    // It ships its build and its documents, never the CLI's bin folder.
    expect(hostPkg.files).not.toContain("bin");
    expect(hostPkg.files).toContain("dist");
  });
});
