import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { link, readdir, readFile, unlink, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { LOCK_FILE, processStartTime, takeOver, withDirLock, type LockOwner } from "./dir-lock.js";
import { LifecycleError } from "./errors.js";

let tmp: TempDir;
beforeEach(async () => {
  tmp = await createTempDir("clawft-lock-");
});
afterEach(async () => {
  await tmp.cleanup();
});

/** The pid of a process that has exited (a crashed lock holder). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  return child.pid;
}

function record(pid: number, token: string, extra: Partial<LockOwner> = {}): string {
  return `${JSON.stringify({ pid, token, hostname: hostname(), createdAt: new Date().toISOString(), ...extra })}\n`;
}

const token = (c: string) => c.repeat(32);

/** N concurrent holders each doing M read-modify-write increments with a pause in between. */
async function hammer(dir: string, holders: number, increments: number): Promise<{ counter: number; maxInside: number }> {
  const counterPath = join(dir, "counter");
  await writeFile(counterPath, "0");
  let inside = 0;
  let maxInside = 0;
  await Promise.all(
    Array.from({ length: holders }, async () => {
      for (let i = 0; i < increments; i++) {
        await withDirLock(
          dir,
          async () => {
            inside++;
            maxInside = Math.max(maxInside, inside);
            const value = Number(await readFile(counterPath, "utf8"));
            await new Promise((r) => setTimeout(r, 1));
            await writeFile(counterPath, String(value + 1));
            inside--;
          },
          { timeoutMs: 60_000, pollMs: 2 },
        );
      }
    }),
  );
  return { counter: Number(await readFile(counterPath, "utf8")), maxInside };
}

describe("takeOver: the stale-lock race, scheduled by hand", () => {
  /**
   * The red team's race: two processes read the same stale lock; the first replaces it; the
   * second, acting on what it read, replaces the first's live lock (read-delete-create), and
   * both hold it. Here the second process's step runs after the first has finished, on its old
   * read: whatever the timing, it must not get the lock.
   */
  it("T69 a takeover decided on a stale read after another process already took the lock over never replaces it", async () => {
    const stale = token("d");
    const lockPath = join(tmp.path, LOCK_FILE);
    await writeFile(lockPath, record(deadPid(), stale));
    const recordA = join(tmp.path, "record-a");
    const recordB = join(tmp.path, "record-b");
    await writeFile(recordA, record(process.pid, token("e")));
    await writeFile(recordB, record(process.pid, token("f")));
    // A and B both read the lock and found `stale`; A acts first and wins.
    expect(await takeOver(tmp.path, stale, recordA)).toBe("taken");
    expect(JSON.parse(await readFile(lockPath, "utf8"))).toMatchObject({ token: token("e") });
    // B now acts on its old read while A's claim is still there: A is alive, B waits.
    expect(await takeOver(tmp.path, stale, recordB)).toBe("wait");
    expect(JSON.parse(await readFile(lockPath, "utf8"))).toMatchObject({ token: token("e") });
    // And after A's holding has cleared the claims (as withDirLock does once it holds the lock),
    // B wins the now-free claim but finds the lock no longer `stale`: it looks again.
    await unlink(join(tmp.path, `lock.claim-${stale}`));
    expect(await takeOver(tmp.path, stale, recordB)).toBe("retry");
    expect(JSON.parse(await readFile(lockPath, "utf8"))).toMatchObject({ token: token("e") });
    expect(await readdir(tmp.path)).not.toContain(`lock.claim-${stale}`);
  });

  it("T69 of four takeovers racing on one stale lock, exactly one replaces it", async () => {
    const dead = deadPid();
    for (let round = 0; round < 50; round++) {
      const stale = randomBytes(16).toString("hex");
      const lockPath = join(tmp.path, LOCK_FILE);
      await writeFile(lockPath, record(dead, stale));
      const records = await Promise.all(
        ["a", "b", "c", "d"].map(async (c) => {
          const path = join(tmp.path, `record-${c}`);
          await writeFile(path, record(process.pid, token(c)));
          return path;
        }),
      );
      const outcomes = await Promise.all(records.map((r) => takeOver(tmp.path, stale, r)));
      expect(outcomes.filter((o) => o === "taken")).toHaveLength(1);
      const winner = outcomes.indexOf("taken");
      expect(JSON.parse(await readFile(lockPath, "utf8"))).toMatchObject({ token: token("abcd"[winner] as string) });
      for (const name of await readdir(tmp.path)) await unlink(join(tmp.path, name)).catch(() => {});
    }
  });
});

describe("withDirLock", () => {
  it("T69 serialises concurrent holders: one at a time, no lost update, nothing left behind", async () => {
    const { counter, maxInside } = await hammer(tmp.path, 8, 10);
    expect(counter).toBe(80);
    expect(maxInside).toBe(1);
    expect(await readdir(tmp.path)).toEqual(["counter"]);
  });

  it("T69 a lock left by a dead process, and a takeover claim left by another dead one, are taken over exactly once", async () => {
    const stale = token("a");
    const deadClaimer = token("b");
    await writeFile(join(tmp.path, LOCK_FILE), record(deadPid(), stale));
    // A claimer that died after winning the claim on the stale lock, before replacing it.
    await writeFile(join(tmp.path, "claim-record"), record(deadPid(), deadClaimer));
    await link(join(tmp.path, "claim-record"), join(tmp.path, `lock.claim-${stale}`));
    const { counter, maxInside } = await hammer(tmp.path, 8, 10);
    expect(counter).toBe(80);
    expect(maxInside).toBe(1);
    expect((await readdir(tmp.path)).sort()).toEqual(["claim-record", "counter"]);
  });

  it("T69 a lock of a live process is waited for and never taken over; a reused pid (other start time) is", async () => {
    const live = record(process.pid, token("c"));
    await writeFile(join(tmp.path, LOCK_FILE), live);
    const busy = await withDirLock(tmp.path, async () => "ran", { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(LifecycleError.isInstance(busy) && busy.code).toBe("PLUGIN_DATA_DIR_BUSY");
    expect((busy as Error).message).toMatch(new RegExp(`^data directory is locked by another process \\(pid ${process.pid} on `));
    expect(await readFile(join(tmp.path, LOCK_FILE), "utf8")).toBe(live);

    const start = await processStartTime(process.pid);
    expect(start, "this test needs /proc (Linux)").toBeDefined();
    await writeFile(join(tmp.path, LOCK_FILE), record(process.pid, token("d"), { startTime: `${start}1` }));
    expect(await withDirLock(tmp.path, async () => "ran", { timeoutMs: 5_000 })).toBe("ran");
    expect(await readdir(tmp.path)).toEqual([]);
  });

  it("T68 an empty lock file (an older version's write that failed on a full disk) is stale after 10 s, not before", async () => {
    const lockPath = join(tmp.path, LOCK_FILE);
    await writeFile(lockPath, "");
    const busy = await withDirLock(tmp.path, async () => "ran", { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(LifecycleError.isInstance(busy) && busy.code).toBe("PLUGIN_DATA_DIR_BUSY");
    const old = new Date(Date.now() - 20_000);
    await utimes(lockPath, old, old);
    expect(await withDirLock(tmp.path, async () => "ran", { timeoutMs: 5_000 })).toBe("ran");
    // An older version's bare-pid lock of a dead process is taken over at once.
    await writeFile(lockPath, String(deadPid()));
    expect(await withDirLock(tmp.path, async () => "ran", { timeoutMs: 5_000 })).toBe("ran");
    expect(await readdir(tmp.path)).toEqual([]);
  });

  it("T68 the lock file is never empty while held: it holds the owner's complete record", async () => {
    const seen = await withDirLock(tmp.path, async () => JSON.parse(await readFile(join(tmp.path, LOCK_FILE), "utf8")) as LockOwner);
    expect(seen).toMatchObject({ pid: process.pid, hostname: hostname() });
    expect(seen.token).toMatch(/^[0-9a-f]{32}$/);
    expect(seen.startTime).toBe(await processStartTime(process.pid));
  });
});
