import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("the clawft-plugin bin", () => {
  it("is the file package.json names, and runs the built CLI", async () => {
    // Resolved through the published name, so the `bin` field and `files` are what is tested.
    const pkgPath = createRequire(import.meta.url).resolve("@clawft/host/package.json");
    const pkg = (await import(pkgPath, { with: { type: "json" } })).default as {
      version: string;
      bin: Record<string, string>;
      files: string[];
    };
    const bin = pkg.bin["clawft-plugin"];
    expect(bin).toBeDefined();
    expect(pkg.files.some((f) => bin!.replace(/^\.\//, "").startsWith(f))).toBe(true);
    const { stdout } = await run(process.execPath, [join(dirname(pkgPath), bin!), "--version"]);
    expect(stdout.trim()).toBe(`clawft-plugin ${pkg.version} (@clawft/host)`);
  });
});
