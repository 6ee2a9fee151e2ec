import { spawnSync } from "node:child_process";
import { link, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { LOCK_FILE, processStartTime, withDirLock, type LockOwner } from "./dir-lock.js";
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
