import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDir {
  /** The real path (symlinks in the temp root resolved) of a fresh, empty directory. */
  readonly path: string;
  /** Removes the directory and everything below it. Safe to call twice. */
  cleanup(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates a real, empty temporary directory. Tests use real files, never a mocked fs. */
export async function createTempDir(prefix = "clawft-test-"): Promise<TempDir> {
  const path = await realpath(await mkdtemp(join(tmpdir(), prefix)));
  const cleanup = () => rm(path, { recursive: true, force: true, maxRetries: 3 });
  return { path, cleanup, [Symbol.asyncDispose]: cleanup };
}
