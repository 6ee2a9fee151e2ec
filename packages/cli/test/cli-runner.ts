import { spawn } from "node:child_process";
import { access, cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built package's dist folder (`pnpm build` before these tests). */
const DIST = fileURLToPath(new URL("../dist/", import.meta.url));

/** What one `clawft-plugin` process did. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * A snapshot of the built `dist/` (inside the package, so its dependencies resolve), taken once,
 * so a rebuild in the same work tree cannot pull files from under a running test; and a runner
 * of `node <snapshot>/cli.js …` with pipes (never a TTY, so never interactive).
 */
export interface CliHarness {
  cliPath: string;
  run(args: readonly string[], env?: Record<string, string>): Promise<CliRun>;
  dispose(): Promise<void>;
}

export async function snapshotCli(home: () => string): Promise<CliHarness> {
  for (let i = 0; ; i++) {
    try {
      await access(join(DIST, "cli.js"));
      break;
    } catch (error) {
      if (i >= 60) throw error;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  const snapshot = fileURLToPath(
    new URL(`../node_modules/.cache/clawft-cli-test-${process.pid}-${Math.random().toString(16).slice(2)}/`, import.meta.url),
  );
  await cp(DIST, snapshot, { recursive: true });
  const cliPath = join(snapshot, "cli.js");
  return {
    cliPath,
    run: (args, env = {}) => runNode([cliPath, ...args], { HOME: home(), ...env }),
    dispose: () => rm(snapshot, { recursive: true, force: true }),
  };
}

/** Runs `node <args>` with a minimal environment; resolves with the exit code or the signal. */
export function runNode(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end();
  });
}
