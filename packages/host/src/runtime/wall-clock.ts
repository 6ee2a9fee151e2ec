/**
 * T30: the wall-clock limit of a plugin call. Fuel stops a guest that computes
 * forever, but not one that blocks (in a slow host call, or a worker that hangs
 * outside guest code): `raceWallClock` settles with `onTimeout`'s value once
 * `limitMs` has passed, whatever `work` does, so the caller can terminate the
 * worker. The timer is ref'd on purpose: it keeps the process alive while a call
 * is in flight, although plugin workers are unref'd. A `work` that rejects
 * settles with `onReject`'s value; the result never rejects.
 */
export function raceWallClock<T>(
  work: Promise<T>,
  limitMs: number,
  onTimeout: (elapsedMs: number) => T,
  onReject: (error: unknown) => T,
): Promise<T> {
  const started = performance.now();
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => resolve(onTimeout(performance.now() - started)), limitMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve(onReject(error));
      },
    );
  });
}
