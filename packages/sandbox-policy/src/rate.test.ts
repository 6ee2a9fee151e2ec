import { describe, expect, it } from "vitest";
import { createFakeClock } from "@clawft/test-utils";
import { RateCounter } from "./rate.js";

describe("RateCounter", () => {
  it("T10 an 11th request inside one minute is refused; the next window allows again", () => {
    const clock = createFakeClock();
    const counter = new RateCounter({ limit: 10, windowMs: 60_000, now: clock.now });
    for (let i = 0; i < 10; i++) {
      expect(counter.tryAcquire()).toBe(true);
      clock.advance(1_000);
    }
    expect(counter.tryAcquire()).toBe(false);
    expect(counter.remaining).toBe(0);
    clock.advance(49_999); // 59.999 s after the first request
    expect(counter.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(counter.remaining).toBe(10);
    expect(counter.tryAcquire()).toBe(true);
    expect(counter.remaining).toBe(9);
  });

  it("is a fixed window that starts at the first acquisition after the previous one ended", () => {
    const clock = createFakeClock(0);
    const counter = new RateCounter({ limit: 2, windowMs: 100, now: clock.now });
    clock.advance(1_000);
    expect(counter.tryAcquire()).toBe(true); // window [1000, 1100)
    clock.advance(99);
    expect(counter.tryAcquire()).toBe(true);
    expect(counter.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(counter.tryAcquire()).toBe(true);
  });

  it("a clock going backwards never refills the window", () => {
    const clock = createFakeClock(10_000);
    const counter = new RateCounter({ limit: 1, windowMs: 1_000, now: clock.now });
    expect(counter.tryAcquire()).toBe(true);
    clock.set(0);
    expect(counter.tryAcquire()).toBe(false);
  });

  it("limit 0 allows nothing", () => {
    const counter = new RateCounter({ limit: 0, windowMs: 1_000 });
    expect(counter.tryAcquire()).toBe(false);
  });

  it("two counters share nothing (T44 at unit level)", () => {
    const clock = createFakeClock();
    const a = new RateCounter({ limit: 1, windowMs: 60_000, now: clock.now });
    const b = new RateCounter({ limit: 1, windowMs: 60_000, now: clock.now });
    expect(a.tryAcquire()).toBe(true);
    expect(a.tryAcquire()).toBe(false);
    expect(b.tryAcquire()).toBe(true);
  });

  it("works with the default monotonic clock", () => {
    const counter = new RateCounter({ limit: 3, windowMs: 3_600_000 });
    expect([counter.tryAcquire(), counter.tryAcquire(), counter.tryAcquire(), counter.tryAcquire()]).toEqual([
      true, true, true, false,
    ]);
  });

  it.each([
    [{ limit: -1, windowMs: 1 }, /^limit must be an integer >= 0/],
    [{ limit: 1.5, windowMs: 1 }, /^limit must be an integer >= 0/],
    [{ limit: Number.NaN, windowMs: 1 }, /^limit must be/],
    [{ limit: "10", windowMs: 1 }, /^limit must be/],
    [{ limit: 1, windowMs: 0 }, /^windowMs must be a positive finite number/],
    [{ limit: 1, windowMs: Number.POSITIVE_INFINITY }, /^windowMs must be/],
    [{ limit: 1, windowMs: 1, now: 5 }, /^now must be a function/],
  ])("rejects bad options %j naming the field", (options, message) => {
    expect(() => new RateCounter(options as never)).toThrow(TypeError);
    expect(() => new RateCounter(options as never)).toThrow(message);
  });

  it("rejects missing options", () => {
    expect(() => new RateCounter(undefined as never)).toThrow(TypeError);
  });
});
