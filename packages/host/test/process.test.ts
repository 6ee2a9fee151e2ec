import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createTempDir } from "@clawft/test-utils";
import { fixture, testCacheDir } from "./helpers.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

/** Runs node with `args` in the host package folder; kills it if it hangs (a hang is the failure). */
function runNode(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let hung = false;
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, hung });
    });
  });
}

describe("process behaviour", () => {
  it("a forgotten close does not keep the process alive", { timeout: 90_000 }, async () => {
    const dir = await createTempDir("clawft-host-child-");
    try {
      const wasmPath = join(dir.path, "tool-basic.wasm");
      await writeFile(wasmPath, await fixture("tool-basic"));
      const r = await runNode([join(packageDir, "test/child/forgotten-close.mjs"), wasmPath, testCacheDir]);
      expect(r.hung, r.stderr).toBe(false);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('{"hello":"child"}');
    } finally {
      await dir.cleanup();
    }
  });

  it("workers start with a clean execArgv: a parent run with --input-type=module --eval works", { timeout: 90_000 }, async () => {
    const dir = await createTempDir("clawft-host-eval-");
    try {
      const wasmPath = join(dir.path, "tool-basic.wasm");
      await writeFile(wasmPath, await fixture("tool-basic"));
      const code = [
        'import { readFileSync } from "node:fs";',
        'import { createHost } from "@clawft/host";',
        `const host = createHost({ cacheDir: ${JSON.stringify(testCacheDir)} });`,
        `const p = await host.load({ manifest: { id: "test.child.eval", name: "e", version: "1.0.0", capabilities: ["tool"] }, wasm: readFileSync(${JSON.stringify(wasmPath)}) });`,
        'console.log(JSON.stringify(await p.executeTool("echo", ["from eval"])));',
        "await host.close();",
      ].join("\n");
      const r = await runNode(["--input-type=module", "--eval", code]);
      expect(r.hung, r.stderr).toBe(false);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('["from eval"]');
    } finally {
      await dir.cleanup();
    }
  });
});
