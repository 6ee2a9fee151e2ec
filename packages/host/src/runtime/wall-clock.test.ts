import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { raceWallClock } from "./wall-clock.js";

describe("raceWallClock", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("T30 work that never settles is stopped at the limit with the timeout outcome", async () => {
    const onTimeout = vi.fn((elapsed: number) => ({ kind: "timeout", elapsed }));
    const result = raceWallClock(new Promise<{ kind: string; elapsed: number }>(() => {}), 30_000, onTimeout, () => ({ kind: "crashed", elapsed: 0 }));
    await vi.advanceTimersByTimeAsync(29_999);
    expect(onTimeout).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toEqual({ kind: "timeout", elapsed: 30_000 });
    expect(onTimeout).toHaveBeenCalledTimes(1);
  });

  it("T30 work that finishes in time keeps its value and the timer is cleared", async () => {
    const onTimeout = vi.fn(() => "timeout");
    const result = raceWallClock(Promise.resolve("done"), 1000, onTimeout, () => "crashed");
    await expect(result).resolves.toBe("done");
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it("T30 work that rejects settles with onReject's value, never a rejection", async () => {
    const result = raceWallClock(Promise.reject(new Error("worker died")), 1000, () => "timeout", (e) => `crashed: ${(e as Error).message}`);
    await expect(result).resolves.toBe("crashed: worker died");
    expect(vi.getTimerCount()).toBe(0);
  });
});
