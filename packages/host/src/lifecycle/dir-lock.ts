import { createHash, randomBytes } from "node:crypto";
import { link, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { crashPoint } from "./crash-point.js";
import { LifecycleError } from "./errors.js";
import { errnoCode, noSpaceError } from "./fs-util.js";

/** The lock file's name in the data directory. */
export const LOCK_FILE = "lock";
/** Prefix of a takeover claim: `lock.claim-<token of the record it replaces>`. */
const CLAIM_PREFIX = "lock.claim-";
/** A record being written: `.lock-<pid>-<random>.tmp` (the sweep removes those of dead pids). */
const RECORD_TEMP = /^\.lock-(\d+)-[0-9a-f]{16}\.tmp$/;
/** A lock file that cannot be parsed (written by an older version, or damaged) is stale after this long. */
const UNREADABLE_LOCK_STALE_MS = 10_000;
/** A chain of dead claimers longer than this is not followed (each link is a crashed process). */
const MAX_CLAIM_CHAIN = 64;

/** Who holds the lock: what is written in the lock file (and in each claim file). */
export interface LockOwner {
  pid: number;
  /** 32 random hex digits, new for every acquisition: names this holding, never reused. */
  token: string;
  hostname: string;
  /** The owner process's start time (Linux `/proc/<pid>/stat` field 22), to detect a reused pid. */
  startTime?: string;
  createdAt: string;
}

/** Options of {@link withDirLock}. */
export interface DirLockOptions {
  /** How long to wait for a live holder. @default 15000 */
  timeoutMs?: number;
  /** Mean poll interval while waiting (each wait is 0.5-1.5 times this, so waiters do not move in step). @default 25 */
  pollMs?: number;
}

/** The start time of a process (clock ticks since boot), or undefined where `/proc` is not there. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may hold spaces and parentheses: count from the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
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
 * Whether the process named by a lock record is (possibly) still running. A record from another
 * host cannot be checked, so it counts as alive (the user removes it, told so by the timeout error).
 * A live pid with another start time is a reused pid: the owner is gone.
 */
export async function ownerAlive(owner: LockOwner): Promise<boolean> {
  if (owner.hostname !== hostname()) return true;
  if (!pidAlive(owner.pid)) return false;
  if (owner.startTime !== undefined) {
    const now = await processStartTime(owner.pid);
    if (now !== undefined && now !== owner.startTime) return false;
  }
  return true;
}

type ReadOwner =
  | { kind: "missing" }
  | { kind: "owner"; owner: LockOwner }
  /** Not a record of this protocol (older version's bare pid, an empty file): judged by age and pid. */
  | { kind: "foreign"; token: string; pid: number | undefined; ageMs: number };

async function readOwner(path: string): Promise<ReadOwner> {
  let text: string;
  let info;
  try {
    info = await stat(path, { bigint: true });
    text = await readFile(path, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return { kind: "missing" };
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (
      typeof value === "object" &&
      value !== null &&
      Number.isSafeInteger(value.pid) &&
      typeof value.token === "string" &&
      /^[0-9a-f]{32}$/.test(value.token) &&
      typeof value.hostname === "string"
    ) {
      return { kind: "owner", owner: value as LockOwner };
    }
  } catch {
    // not JSON: judged below
  }
  // The token of a foreign file names this exact file (inode, change time and content), so a
  // claim on it can never be mistaken for a claim on a later lock.
  const token = createHash("sha256")
    .update(`${info.ino}:${info.ctimeNs}:${text}`)
    .digest("hex")
    .slice(0, 32);
  const pid = /^\s*\d+\s*$/.test(text) ? Number.parseInt(text, 10) : undefined;
  return { kind: "foreign", token, pid, ageMs: Date.now() - Number(info.mtimeMs) };
}

async function ownerOf(read: Exclude<ReadOwner, { kind: "missing" }>): Promise<{ token: string; alive: boolean; shown: string }> {
  if (read.kind === "owner") {
    return { token: read.owner.token, alive: await ownerAlive(read.owner), shown: `pid ${read.owner.pid} on ${read.owner.hostname}` };
  }
  if (read.pid !== undefined) return { token: read.token, alive: pidAlive(read.pid), shown: `pid ${read.pid}` };
  return { token: read.token, alive: read.ageMs < UNREADABLE_LOCK_STALE_MS, shown: "unknown (unreadable lock file)" };
}

/**
 * Writes this acquisition's owner record to a fresh temp file (`wx`, fsynced) and returns its path.
 * A failed write (full disk) removes the temp file and throws: nothing half-written is ever
 * linked into place, so a lock file is never empty.
 */
async function writeOwnerRecord(dir: string, owner: LockOwner): Promise<string> {
  const path = join(dir, `.lock-${process.pid}-${randomBytes(8).toString("hex")}.tmp`);
  const handle = await open(path, "wx", 0o600).catch((error: unknown) => {
    throw noSpaceError(error, "cannot take the data directory lock") ?? error;
  });
  try {
    await handle.writeFile(`${JSON.stringify(owner)}\n`);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw noSpaceError(error, "cannot take the data directory lock") ?? error;
  }
  return path;
}

async function removeClaims(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith(CLAIM_PREFIX)) await unlink(join(dir, name)).catch(() => {});
  }
}

/**
 * Removes owner-record temp files left by processes that died between writing and linking them
 * (`.lock-<pid>-<random>.tmp` whose pid is gone). Live processes' files are left alone.
 */
export async function sweepLockLeftovers(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const match = RECORD_TEMP.exec(name);
    if (match && Number(match[1]) !== process.pid && !pidAlive(Number(match[1]))) {
      await unlink(join(dir, name)).catch(() => {});
    }
  }
}

/** What a takeover attempt ended in: the lock is ours, look again, or someone live is ahead. */
export type TakeoverResult = "taken" | "retry" | "wait";

/**
 * Takes over a lock whose owner is gone, without ever deleting a lock another process may
 * just have taken (the read-delete-create race that let two processes hold the lock).
 *
 * The right to replace the record with token `T` is the claim file `lock.claim-T`, created by
 * `link()` (which fails if it exists, like `O_EXCL`), so exactly one process wins it. The winner
 * checks that the lock still holds `T` (only a claimer can change a dead owner's lock, and it is
 * the only claimer) and renames its own complete record over the lock in one step. A claimer
 * that dies holding a claim is superseded the same way: `lock.claim-<its token>`, and so on down
 * the chain. Claims on tokens that are no longer in the lock are moot (tokens are never reused)
 * and are deleted by the next holder.
 */
export async function takeOver(dir: string, staleToken: string, recordPath: string): Promise<TakeoverResult> {
  const lockPath = join(dir, LOCK_FILE);
  let target = staleToken;
  for (let depth = 0; depth < MAX_CLAIM_CHAIN; depth++) {
    const claimPath = join(dir, `${CLAIM_PREFIX}${target}`);
    try {
      await link(recordPath, claimPath);
    } catch (error) {
      if (errnoCode(error) !== "EEXIST") throw noSpaceError(error, "cannot take the data directory lock") ?? error;
      const claim = await readOwner(claimPath);
      if (claim.kind === "missing") return "retry";
      const holder = await ownerOf(claim);
      if (holder.alive) return "wait";
      target = holder.token;
      continue;
    }
    crashPoint("lock-claimed");
    const current = await readOwner(lockPath);
    const stillStale = current.kind !== "missing" && (await ownerOf(current)).token === staleToken;
    if (!stillStale) {
      // Someone else completed this takeover (or the lock was released): the claim is moot.
      await unlink(claimPath).catch(() => {});
      return "retry";
    }
    await rename(recordPath, lockPath);
    return "taken";
  }
  return "wait";
}

/**
 * Runs `fn` while holding `<dir>/lock`, released when `fn` settles.
 *
 * Protocol (git's `index.lock` style, plus a safe stale takeover):
 * 1. The owner record (pid, process start time, host name, a fresh random token) is written to a
 *    temp file and fsynced; then `link(temp, lock)` puts it in place atomically, failing if a
 *    lock exists. The lock file therefore never exists empty or half-written: a full disk fails
 *    the record write, before there is any lock (T68).
 * 2. A lock whose owner is gone (pid dead, or alive with another start time) is taken over by
 *    {@link takeOver}: never read-delete-create, so two processes cannot both hold it (T69).
 *    An unreadable lock (an older version's, or damaged) counts as gone after 10 s.
 * 3. Release: unlink the lock if it still holds our token.
 *
 * Stops: two CLI processes interleaving read-modify-write of the approvals or keys file (a lost
 * update could resurrect a revoked grant), renaming plugin folders under each other, and a crash
 * or full disk leaving a lock that bricks every later command.
 */
export async function withDirLock<T>(dir: string, fn: () => Promise<T>, options: DirLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const pollMs = options.pollMs ?? 25;
  const lockPath = join(dir, LOCK_FILE);
  const deadline = Date.now() + timeoutMs;
  const startTime = await processStartTime(process.pid);
  let owner: LockOwner;
  let lastHolder = "unknown";
  for (;;) {
    owner = {
      pid: process.pid,
      token: randomBytes(16).toString("hex"),
      hostname: hostname(),
      ...(startTime === undefined ? {} : { startTime }),
      createdAt: new Date().toISOString(),
    };
    const recordPath = await writeOwnerRecord(dir, owner);
    let outcome: TakeoverResult | "held";
    try {
      await link(recordPath, lockPath);
      outcome = "taken";
    } catch (error) {
      if (errnoCode(error) !== "EEXIST") throw noSpaceError(error, "cannot take the data directory lock") ?? error;
      const current = await readOwner(lockPath);
      if (current.kind === "missing") outcome = "retry";
      else {
        const holder = await ownerOf(current);
        lastHolder = holder.shown;
        outcome = holder.alive ? "held" : await takeOver(dir, holder.token, recordPath);
      }
    } finally {
      await unlink(recordPath).catch(() => {});
    }
    if (outcome === "taken") break;
    if (outcome === "retry") continue;
    if (Date.now() > deadline) {
      throw new LifecycleError(
        "PLUGIN_DATA_DIR_BUSY",
        `data directory is locked by another process (${lastHolder}): ${lockPath}; if that process is gone from another machine, delete the lock file`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs * (0.5 + Math.random())));
  }
  await removeClaims(dir);
  crashPoint("lock-acquired");
  try {
    return await fn();
  } finally {
    const current = await readOwner(lockPath).catch(() => ({ kind: "missing" }) as const);
    if (current.kind === "owner" && current.owner.token === owner.token) await unlink(lockPath).catch(() => {});
  }
}
