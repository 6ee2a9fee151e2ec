/**
 * How the two threads of a plugin wait for each other during a call.
 *
 * A host call is a ping-pong on shared memory: the worker posts a request and waits
 * for the answer; the main thread serves it and waits for the worker's next message.
 * Spinning answers in well under a microsecond but burns a core, and a waiter that
 * spins while the other side is not running (one free core, a busy neighbour)
 * delays the very thread it waits for. Sleeping frees the core but a wake-up costs a
 * futex round (worker) or an event-loop turn (main thread, `Atomics.waitAsync`).
 *
 * The adaptive strategy spins only about as long as the answer has recently taken
 * (`AdaptiveSpin`), so a spin that cannot succeed stops early and gives the core
 * back; then it sleeps where a wake is cheap: the worker on `Atomics.wait`, the main
 * thread on a short synchronous `Atomics.wait` (a futex, woken by the worker's
 * notify) before it falls back to its event loop. CPU budget of one host call: at
 * most `maxSpin` iterations per side (≈ 10 µs on this machine) plus the short
 * synchronous wait of the main thread (`mainSyncWaitMs`, only while the guest keeps
 * calling the host within it).
 */
export interface WaitTuning {
  /** Spin iterations the worker starts with, waiting for a host call's answer. */
  workerSpin: number;
  /** Bounds of the adaptive spin (iterations); `min === max` disables the adaptation. */
  minSpin: number;
  maxSpin: number;
  /** Spin iterations of an idle worker, after a call ended, before it sleeps until the next command. */
  idleSpin: number;
  /** Spin iterations of the main thread waiting for the worker's next message after it answered a host call. */
  mainSpin: number;
  /**
   * Milliseconds the main thread then blocks on `Atomics.wait` (woken at once by the
   * worker's notify) before it waits on its event loop; 0: straight to the event loop.
   */
  mainSyncWaitMs: number;
  /** Whether the main thread's spin adapts like the worker's. */
  adaptive: boolean;
}

/** The strategy this host uses. */
export const ADAPTIVE_WAIT: Readonly<WaitTuning> = Object.freeze({
  workerSpin: 2000,
  minSpin: 64,
  maxSpin: 8000,
  idleSpin: 2000,
  mainSpin: 2000,
  mainSyncWaitMs: 0.05,
  adaptive: true,
});

/**
 * The strategy before issue #17 (worker spins 20,000 iterations, main thread 2,000,
 * then the event loop), kept only so the wait bench can compare both in one run
 * (`CLAWFT_WAIT_STRATEGY=spin-2020`, read by the bench's host process; it changes
 * only how long each side spins, never what is checked).
 */
export const SPIN_2020_WAIT: Readonly<WaitTuning> = Object.freeze({
  workerSpin: 20000,
  minSpin: 20000,
  maxSpin: 20000,
  idleSpin: 5000,
  mainSpin: 2000,
  mainSyncWaitMs: 0,
  adaptive: false,
});

/** The tuning a new plugin runtime uses. */
export function waitTuning(): Readonly<WaitTuning> {
  return process.env.CLAWFT_WAIT_STRATEGY === "spin-2020" ? SPIN_2020_WAIT : ADAPTIVE_WAIT;
}

/** One wait in this many spins the full `maxSpin`, to notice when spinning pays again. */
export const PROBE_EVERY = 64;

/**
 * A spin limit that follows how long answers take. An answer caught by the spin at
 * iteration `i` moves the limit a quarter of the way toward 4×i (a margin; one
 * outlier does not undo what was learned). A spin that ran out halves the limit:
 * when answers keep missing — the other side is not running (one free core, a busy
 * neighbour), or the host call is async, or the guest computes — each side spins
 * only `minSpin` and hands the core over at once (sleep, woken by a futex). One
 * wait in `PROBE_EVERY` spins the full `maxSpin`, so a limit driven down by a busy
 * spell grows back once answers come within a spin again.
 */
export class AdaptiveSpin {
  limit: number;
  private waits = 0;

  constructor(private readonly tuning: Readonly<Pick<WaitTuning, "minSpin" | "maxSpin">>, start: number) {
    this.limit = clamp(start, tuning.minSpin, tuning.maxSpin);
  }

  /** The spin of the next wait (iterations). */
  next(): number {
    return ++this.waits % PROBE_EVERY === 0 ? this.tuning.maxSpin : this.limit;
  }

  /** The answer came at spin iteration `i`. */
  caught(i: number): void {
    const target = clamp(4 * i + this.tuning.minSpin, this.tuning.minSpin, this.tuning.maxSpin);
    const step = (target - this.limit) / 4;
    this.limit += step > 0 ? Math.ceil(step) : Math.floor(step);
  }

  /** The spin ran out before the answer came. */
  missed(): void {
    this.limit = clamp(Math.floor(this.limit / 2), this.tuning.minSpin, this.tuning.maxSpin);
  }
}

function clamp(n: number, min: number, max: number): number {
  return n < min ? min : n > max ? max : n;
}
