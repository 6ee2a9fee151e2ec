import { describe, expect, it } from "vitest";
import { Deadline } from "./deadline.js";

describe("Deadline", () => {
  it("rejects a pending race with the timeout error and calls every listener once", async () => {
    const err = new Error("time is up");
    const deadline = new Deadline(20, () => err);
    const seen: Error[] = [];
    deadline.onExpire((e) => seen.push(e));
    await expect(deadline.race(new Promise<never>(() => {}))).rejects.toBe(err);
    expect(deadline.error).toBe(err);
    expect(seen).toEqual([err]);
    // Too late: listeners run at once, races reject at once.
    deadline.onExpire((e) => seen.push(e));
    expect(seen).toEqual([err, err]);
    await expect(deadline.race(Promise.resolve(1))).rejects.toBe(err);
  });

  it("lets a promise that settles first win, and clear() stops the timer", async () => {
    let made = 0;
    const deadline = new Deadline(10_000, () => {
      made++;
      return new Error("never");
    });
    await expect(deadline.race(Promise.resolve("ok"))).resolves.toBe("ok");
    await expect(deadline.race(Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    deadline.clear();
    expect(deadline.error).toBeUndefined();
    expect(made).toBe(0);
  });

  it("a removed listener is not called", async () => {
    const deadline = new Deadline(10, () => new Error("t"));
    let called = false;
    const off = deadline.onExpire(() => (called = true));
    off();
    await expect(deadline.race(new Promise<never>(() => {}))).rejects.toThrow("t");
    expect(called).toBe(false);
  });
});
