/** Options of `RateCounter`. */
export interface RateCounterOptions {
  /** Acquisitions allowed per window (an integer >= 0; 0 allows none). */
  limit: number;
  /** Window length in milliseconds (a positive finite number). */
  windowMs: number;
  /**
   * The clock, in milliseconds. Inject a fake one in tests.
   * @default performance.now (monotonic: wall-clock jumps cannot refill the window)
   */
  now?: () => number;
}

/** Checks a `limit`-like option: an integer from 0 to 2^31. */
export function assertLimit(name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 2 ** 31) {
    throw new TypeError(`${name} must be an integer >= 0`);
  }
}

/** Checks a `windowMs`-like option: a positive finite number. */
export function assertWindow(name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive finite number of milliseconds`);
  }
}

/** Checks a `now` option. */
export function assertClock(name: string, value: unknown): asserts value is (() => number) | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`${name} must be a function returning milliseconds`);
  }
}

const defaultNow = (): number => performance.now();

/**
 * A fixed-window rate counter: at most `limit` acquisitions per `windowMs`,
 * the window starting at the first acquisition after the previous one ended.
 * One counter per plugin instance (nothing shared, nothing global), so one
 * plugin exhausting its budget cannot starve another (T44). Stops a plugin
 * from turning the host into a request or log flood.
 *
 * A clock that goes backwards never opens a new window (no free refills).
 */
export class RateCounter {
  readonly limit: number;
  readonly windowMs: number;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #used = 0;

  constructor(options: RateCounterOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("RateCounter options must be an object");
    }
    assertLimit("limit", options.limit);
    assertWindow("windowMs", options.windowMs);
    assertClock("now", options.now);
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.#now = options.now ?? defaultNow;
  }

  #roll(): void {
    const t = this.#now();
    if (!(t < this.#windowStart + this.windowMs)) {
      // The window ended (or this is the first call): start a new one now.
      if (!Number.isNaN(t)) {
        this.#windowStart = t;
        this.#used = 0;
      }
    }
  }

  /** Takes one unit if the current window has one left; false when over the limit. */
  tryAcquire(): boolean {
    this.#roll();
    if (this.#used >= this.limit) return false;
    this.#used++;
    return true;
  }

  /** Units left in the current window (the full limit when a new window would start). */
  get remaining(): number {
    const t = this.#now();
    if (!(t < this.#windowStart + this.windowMs)) return this.limit;
    return Math.max(0, this.limit - this.#used);
  }
}
