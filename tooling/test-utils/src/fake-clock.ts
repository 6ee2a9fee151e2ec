export interface FakeClock {
  /** The current fake time in milliseconds; pass as a `now` option. */
  now: () => number;
  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void;
  /** Sets the clock to an absolute time in milliseconds. */
  set(ms: number): void;
}

/** A manual clock for rate windows and timeouts, so tests never sleep. */
export function createFakeClock(startMs = 1_700_000_000_000): FakeClock {
  let t = startMs;
  return {
    now: () => t,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError("advance(ms) needs a finite ms >= 0");
      t += ms;
    },
    set(ms) {
      t = ms;
    },
  };
}
