/**
 * Decides when a plugin has been idle long enough to hibernate (`idleTimeoutMs`).
 *
 * A plugin is busy from the moment a call is queued (`begin`) until it settles
 * (`end`); the timer runs only while nothing is queued or running, and `onIdle` is
 * called synchronously from that timer, when the count is still zero. Because the
 * count and the check live on the main thread, a call queued at any moment either
 * cancels the timer (it is busy) or finds the instance already gone and boots a
 * fresh one: a call racing the hibernation is never lost, and never run twice.
 */
export class IdleTracker {
  private busy = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    /** Milliseconds of idleness before `onIdle`; `0` never calls it. */
    private readonly timeoutMs: number,
    private readonly onIdle: () => void,
  ) {}

  /** Calls queued or running. */
  get pending(): number {
    return this.busy;
  }

  /** A call was queued: the plugin is busy until its `end`. */
  begin(): void {
    this.busy++;
    this.clear();
  }

  /** A call settled: when none is left, the idle timer starts. */
  end(): void {
    if (this.busy > 0) this.busy--;
    if (this.busy === 0) this.arm();
  }

  /** Starts the idle timer if nothing is pending (e.g. after the load). */
  arm(): void {
    if (this.stopped || this.timeoutMs <= 0 || this.busy > 0) return;
    this.clear();
    const timer = setTimeout(() => {
      if (this.timer !== timer) return;
      this.timer = undefined;
      if (this.busy === 0 && !this.stopped) this.onIdle();
    }, this.timeoutMs);
    // An idle plugin never keeps the process alive.
    timer.unref();
    this.timer = timer;
  }

  /** Cancels the timer for good (the plugin closed). */
  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
