import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { mkdir, open, readFile, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LifecycleError } from "./errors.js";

/** A short random suffix for temp names (never predictable, so never pre-creatable). */
export function randomSuffix(): string {
  return randomBytes(8).toString("hex");
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

export function isNotFound(error: unknown): boolean {
  return errnoCode(error) === "ENOENT";
}

/** Creates a directory (and parents) readable by the owner only. */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
}

/**
 * Writes `data` to `path` atomically: a fresh temp file in the same directory (created with
 * `wx`, so an attacker-planted file or symlink at the temp name is never followed), fsync,
 * then `rename` over the target.
 *
 * Stops: a crash or a concurrent reader ever seeing a half-written keys/approvals/record file
 * (a truncated approvals file must never read as "no grants" or as someone else's grants).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await ensurePrivateDir(dir);
  const temp = join(dir, `.${randomSuffix()}.tmp`);
  const handle = await open(temp, "wx", mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

/** `JSON.stringify` with two-space indentation and a final newline, written atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Reads and parses a JSON state file. A missing file is `undefined`; a file that is not JSON
 * is a `PLUGIN_STATE_CORRUPT` error (never silently treated as empty: an emptied approvals file
 * must not look like "nothing was revoked").
 */
export async function readJsonFile(path: string, maxBytes = 4 * 1024 * 1024): Promise<unknown> {
  let text: string;
  try {
    // O_NONBLOCK + a type check on the descriptor: a FIFO or device put in place of a state
    // file is an error, never a hang.
    const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      const info = await handle.stat();
      if (!info.isFile()) {
        throw new LifecycleError("PLUGIN_STATE_CORRUPT", `state file is not a regular file: ${path}`);
      }
      const size = info.size;
      if (size > maxBytes) {
        throw new LifecycleError("PLUGIN_STATE_CORRUPT", `state file too large: ${path} (${size} bytes)`);
      }
      text = await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (isNotFound(error)) return undefined;
    if (LifecycleError.isInstance(error)) throw error;
    throw new LifecycleError("PLUGIN_STATE_CORRUPT", `cannot read state file ${path}`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new LifecycleError("PLUGIN_STATE_CORRUPT", `state file is not valid JSON: ${path}`, { cause: error });
  }
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 2 }).catch(() => {});
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === "EPERM";
  }
}

/**
 * Runs `fn` while holding `<dir>/lock` (created with `wx`; holds the owner's pid). A lock
 * whose owner process is gone is taken over.
 *
 * Stops: two CLI processes interleaving read-modify-write of the approvals or keys file
 * (a lost update could resurrect a revoked grant) or renaming plugin folders under each other.
 */
export async function withDirLock<T>(dir: string, fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  await ensurePrivateDir(dir);
  const lockPath = join(dir, "lock");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lockPath, "wx", 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if (errnoCode(error) !== "EEXIST") throw error;
      const owner = Number.parseInt(await readFile(lockPath, "utf8").catch(() => ""), 10);
      if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
        await unlink(lockPath).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) {
        throw new LifecycleError(
          "PLUGIN_DATA_DIR_BUSY",
          `data directory is locked by another process (pid ${Number.isInteger(owner) ? owner : "unknown"}): ${lockPath}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => {});
  }
}
