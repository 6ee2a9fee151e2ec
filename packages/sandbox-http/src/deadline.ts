/**
 * One timer for the whole of a request (DNS, connect, TLS, headers, body).
 * Cheaper than an `AbortSignal` (no EventTarget) and able to reach every
 * stage: a pending promise is raced against it, an undici request is aborted
 * through its controller.
 */
export class Deadline {
  readonly #timer: NodeJS.Timeout;
  readonly #makeError: () => Error;
  #error: Error | undefined;
  #listeners: Array<(error: Error) => void> = [];

  constructor(ms: number, makeError: () => Error) {
    this.#makeError = makeError;
    this.#timer = setTimeout(() => this.#expire(), ms);
  }

  #expire(): void {
    const error = this.#makeError();
    this.#error = error;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const fn of listeners) fn(error);
  }

  /** The timeout error once the time is up, else undefined. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Calls `fn` when the time is up (at once if it already is). Returns a function that removes it. */
  onExpire(fn: (error: Error) => void): () => void {
    if (this.#error !== undefined) {
      fn(this.#error);
      return () => {};
    }
    this.#listeners.push(fn);
    return () => {
      const i = this.#listeners.indexOf(fn);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Settles like `promise`, or rejects with the timeout error first. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise<T>((resolve, reject) => {
      const off = this.onExpire(reject);
      promise.then(
        (value) => {
          off();
          resolve(value);
        },
        (error: unknown) => {
          off();
          reject(error);
        },
      );
    });
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#listeners = [];
  }
}
