import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { mkdir, open, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LifecycleError } from "./errors.js";
import { unsafeStateReason } from "./state-safety.js";

/** A short random suffix for temp names (never predictable, so never pre-creatable). */
export function randomSuffix(): string {
  return randomBytes(8).toString("hex");
}

/** The `code` of a Node.js system error (`ENOENT`, `ENOSPC`…), if any. */
export function errnoCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

export function isNotFound(error: unknown): boolean {
  return errnoCode(error) === "ENOENT";
}

/**
 * A `PLUGIN_NO_SPACE` error for a full disk or an exhausted quota (`ENOSPC`, `EDQUOT`), with the
 * system error as `cause`; `undefined` for any other error. Callers throw it after undoing their
 * partial write, so a full disk is reported as such and leaves nothing half-written.
 */
export function noSpaceError(error: unknown, what: string): LifecycleError | undefined {
  if (LifecycleError.isInstance(error)) return error.code === "PLUGIN_NO_SPACE" ? error : undefined;
  const code = errnoCode(error);
  if (code !== "ENOSPC" && code !== "EDQUOT") return undefined;
  return new LifecycleError(
    "PLUGIN_NO_SPACE",
    `no space left in the data directory: ${what} (${code}); free some space and retry, nothing was changed`,
    { cause: error },
  );
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
  const what = `cannot write ${path}`;
  const handle = await open(temp, "wx", mode).catch((error: unknown) => {
    throw noSpaceError(error, what) ?? error;
  });
  try {
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw noSpaceError(error, what) ?? error;
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw noSpaceError(error, what) ?? error;
  }
}

/** `JSON.stringify` with two-space indentation and a final newline, written atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Reads and parses a JSON state file. A file owned by another user or writable by group/others
 * is `PLUGIN_STATE_UNSAFE` (T75: someone else could have planted approvals or keys). A missing file is `undefined`; a file that is not JSON
 * is a `PLUGIN_STATE_CORRUPT` error (never silently treated as empty: an emptied approvals file
 * must not look like "nothing was revoked").
 */
export async function readJsonFile(path: string, maxBytes = 4 * 1024 * 1024): Promise<unknown> {
  let text: string;
  try {
    // O_NONBLOCK + a type check on the descriptor: a FIFO or device put in place of a state
    // file is an error, never a hang.
    // O_NOFOLLOW: a state file replaced by a symlink is refused, never followed.
    const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW);
    try {
      const info = await handle.stat();
      if (!info.isFile()) {
        throw new LifecycleError("PLUGIN_STATE_CORRUPT", `state file is not a regular file: ${path}`);
      }
      const unsafe = unsafeStateReason(info, `state file ${path}`);
      if (unsafe) throw new LifecycleError("PLUGIN_STATE_UNSAFE", `unsafe data directory: ${unsafe}`);
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
    if (errnoCode(error) === "ELOOP") {
      throw new LifecycleError("PLUGIN_STATE_UNSAFE", `unsafe data directory: state file ${path} is a symlink`, { cause: error });
    }
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
