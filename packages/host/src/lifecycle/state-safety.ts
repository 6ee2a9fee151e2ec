import type { Stats } from "node:fs";
import { lstat, mkdir } from "node:fs/promises";
import { LifecycleError } from "./errors.js";

/**
 * Why a state file or folder must not be trusted, or `undefined` when it is fine: owned by a
 * user other than this process's user (or root), or writable by its group or by others.
 *
 * Stops (as ssh's `StrictModes` does): another local user planting approvals, trusted keys or an
 * install record in a shared or carelessly created data directory, or swapping a plugin folder.
 */
export function unsafeStateReason(info: Pick<Stats, "uid" | "mode">, what: string): string | undefined {
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid && info.uid !== 0) {
    return `${what} is owned by another user (uid ${info.uid}, this process runs as uid ${uid})`;
  }
  if ((info.mode & 0o022) !== 0) {
    return `${what} is writable by ${info.mode & 0o020 ? "its group" : "others"} (mode ${(info.mode & 0o777).toString(8).padStart(4, "0")}); run chmod go-w on it`;
  }
  return undefined;
}

/**
 * Checks one state folder (the data directory, `tmp`, `plugins`, `data`) before it is used, and
 * creates it (mode 0700) when `create` is set and it does not exist. Returns false when it does
 * not exist (and was not created).
 *
 * Refused with `PLUGIN_STATE_UNSAFE`: a symlink (stops `tmp` → `~/tmp` making the start-up sweep
 * delete the user's files, or `plugins` → a folder another user controls), something that is not
 * a folder, a folder owned by another user or writable by group/others (T70, T75).
 */
export async function checkStateFolder(path: string, what: string, create: boolean): Promise<boolean> {
  let info;
  try {
    info = await lstat(path);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") throw error;
    if (!create) return false;
    try {
      await mkdir(path, { recursive: true, mode: 0o700 });
    } catch (mkdirError) {
      if ((mkdirError as { code?: unknown }).code !== "EEXIST") throw mkdirError;
    }
    info = await lstat(path);
  }
  if (info.isSymbolicLink()) {
    throw new LifecycleError(
      "PLUGIN_STATE_UNSAFE",
      `unsafe data directory: ${what} ${path} is a symlink; state folders must be real folders (point --data-dir at the real location instead)`,
    );
  }
  if (!info.isDirectory()) {
    throw new LifecycleError("PLUGIN_STATE_UNSAFE", `unsafe data directory: ${what} ${path} is not a folder`);
  }
  const unsafe = unsafeStateReason(info, `${what} ${path}`);
  if (unsafe) throw new LifecycleError("PLUGIN_STATE_UNSAFE", `unsafe data directory: ${unsafe}`);
  return true;
}

/**
 * Checks one state file that exists (a missing one is fine): not a symlink, owned by this user
 * (or root), not writable by group/others — else `PLUGIN_STATE_UNSAFE` (T75); and a regular file —
 * else `PLUGIN_STATE_CORRUPT`.
 * Stops another user editing the approvals, keys or audit log between two commands.
 */
export async function checkStateFile(path: string): Promise<void> {
  let info;
  try {
    info = await lstat(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return;
    throw error;
  }
  if (info.isSymbolicLink()) {
    throw new LifecycleError("PLUGIN_STATE_UNSAFE", `unsafe data directory: state file ${path} is a symlink`);
  }
  // A FIFO or device in place of a state file is corrupt state, as when it is read (readJsonFile).
  if (!info.isFile()) throw new LifecycleError("PLUGIN_STATE_CORRUPT", `state file is not a regular file: ${path}`);
  const unsafe = unsafeStateReason(info, `state file ${path}`);
  if (unsafe) throw new LifecycleError("PLUGIN_STATE_UNSAFE", `unsafe data directory: ${unsafe}`);
}
