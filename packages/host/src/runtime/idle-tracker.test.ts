import { describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { IdleTracker } from "./idle-tracker.js";

/** Counts the calls of `onIdle`. */
function counter(): { count: () => number; onIdle: () => void } {
  let n = 0;
  return { count: () => n, onIdle: () => void n++ };
}

describe("IdleTracker (hibernation timing)", () => {
  it("T91 never calls onIdle while a call is queued or running, however long it takes", async () => {
    const c = counter();
    const idle = new IdleTracker(5, c.onIdle);
    idle.arm();
    idle.begin(); // a call queued before the timer fired
    idle.begin(); // a second one behind it
    await sleep(40);
    expect(c.count()).toBe(0);
    idle.end();
    await sleep(40);
    expect(c.count()).toBe(0); // one still pending
    expect(idle.pending).toBe(1);
    idle.end();
    await sleep(40);
    expect(c.count()).toBe(1);
    idle.stop();
  });

  it("T91 a call queued after the timer was armed cancels it; the timer restarts only when it settles", async () => {
    const c = counter();
    const idle = new IdleTracker(20, c.onIdle);
    idle.arm();
    await sleep(5);
    idle.begin();
    await sleep(60);
    expect(c.count()).toBe(0);
    idle.end();
    await sleep(60);
    expect(c.count()).toBe(1);
    // Idle again: one hibernation per idle period, not one per timer period.
    await sleep(60);
    expect(c.count()).toBe(1);
    idle.stop();
  });

  it("T92 0 is off, and stop() cancels for good", async () => {
    const off = counter();
    const never = new IdleTracker(0, off.onIdle);
    never.arm();
    never.begin();
    never.end();
    const stopped = counter();
    const idle = new IdleTracker(5, stopped.onIdle);
    idle.arm();
    idle.stop();
    idle.begin();
    idle.end();
    idle.arm();
    await sleep(40);
    expect(off.count()).toBe(0);
    expect(stopped.count()).toBe(0);
  });

  it("T91 an extra end() (a settled call counted twice) never makes the count negative", async () => {
    const c = counter();
    const idle = new IdleTracker(5, c.onIdle);
    idle.end();
    idle.end();
    expect(idle.pending).toBe(0);
    idle.begin();
    expect(idle.pending).toBe(1);
    await sleep(30);
    expect(c.count()).toBe(0);
    idle.end();
    await sleep(30);
    expect(c.count()).toBe(1);
    idle.stop();
  });
});
