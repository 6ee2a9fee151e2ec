/**
 * The wire between the main thread and a plugin's worker: two SharedArrayBuffers.
 *
 * - `ctl` (fixed, 128 bytes): Int32 slots and Float64 numbers.
 * - `data` (growable): the payload of the current message, a list of UTF-8 strings.
 *
 * The two threads strictly take turns (ping-pong): whoever was last signalled owns
 * the buffers. Each direction has its OWN wait address — `TO_MAIN` (the worker
 * bumps it, the main thread waits on it with `Atomics.waitAsync`) and `TO_WORKER`
 * (the main thread bumps it, the worker blocks on it with `Atomics.wait`) — so a
 * notify can never wake the wrong side (a shared address lets the main thread's
 * async waiter swallow a wake-up meant for the worker, which then sleeps forever).
 */

/** Sequence counter the worker bumps; the main thread waits on it. */
export const TO_MAIN = 0;
/** Sequence counter the main thread bumps; the worker waits on it. */
export const TO_WORKER = 1;
/** Message kind (one of `Kind`). */
export const KIND = 2;
/** Payload length in bytes in `data`. */
export const LEN = 3;
/** A small integer argument: host function id, reply status, flags. */
export const ARG = 4;
/**
 * Flags of a host call: `ARGUMENT_REFUSED` when an argument was over its limit and
 * was not sent; the payload is then `[argument, unit, limit]` and the size the
 * guest asked for is in `NUM_SIZE`.
 */
export const FLAGS = 5;
/** `FLAGS` value: an argument over its limit, refused in the worker before decoding (T49). */
export const ARGUMENT_REFUSED = 2;

/** Float64 slots (index into the Float64Array view starting at byte 64). */
export const NUM_BUDGET = 0;
export const NUM_FUEL_USED = 1;
export const NUM_PEAK_MEMORY = 2;
export const NUM_SIZE = 3;
export const NUM_MEMORY_LIMIT = 4;

export const CTL_BYTES = 128;
const NUM_OFFSET = 64;

/** Initial size of the data buffer; it grows on demand (in place, shared by both threads). */
export const DATA_INITIAL_BYTES = 64 * 1024;
/**
 * Largest payload the wire carries. Reads are capped at 8 MiB and HTTP responses at
 * 4 MiB by the sandboxes, so 64 MiB is ample; a guest argument bigger than
 * `MAX_ARG_BYTES` is not copied at all (the host refuses the call as too large).
 */
export const DATA_MAX_BYTES = 64 * 1024 * 1024;
export const MAX_ARG_BYTES = 32 * 1024 * 1024;

export const Kind = {
  // worker -> main
  READY: 1,
  INIT_FAILED: 2,
  HOST_CALL: 3,
  RESULT_OK: 4,
  RESULT_ERR: 5,
  FAULT: 6,
  // main -> worker
  CALL: 10,
  REPLY: 11,
} as const;

/** Host functions by wire id. */
export const HostFn = {
  HTTP_REQUEST: 0,
  READ_FILE: 1,
  WRITE_FILE: 2,
  GET_ENV: 3,
  LOG: 4,
} as const;
export type HostFnId = (typeof HostFn)[keyof typeof HostFn];

/** Reply status of a host call. */
export const Reply = {
  OK: 0,
  ERR: 1,
  NONE: 2,
  OK_UNIT: 3,
} as const;
export type ReplyStatus = (typeof Reply)[keyof typeof Reply];

/** `ARG` of a `Kind.RESULT_OK` message: the worker found the result to be valid JSON within bounds. */
export const RESULT_IS_JSON = 1;

/**
 * Fault payload (JSON) of `Kind.FAULT` and `Kind.INIT_FAILED`. `type: "result"`
 * is a result the worker refused (too large, deep or complex; `code` says which):
 * the instance is intact and serves the next call.
 */
/** A js plugin's bundled JS, handed to a fresh engine instance (its `load-plugin-source`) before `plugin.init`. */
export interface JsPayload {
  source: string;
  /** Shown in the engine's errors and stack traces (the manifest's `main`). */
  fileName: string;
}

export interface FaultInfo {
  type: "trap" | "exhausted" | "crash" | "init" | "result" | "limit";
  message: string;
  kind?: "fuel" | "memory" | "table" | "timeout";
  /** For `result` and `limit`: the PluginError code. */
  code?:
    | "PLUGIN_RESULT_TOO_LARGE"
    | "PLUGIN_RESULT_TOO_DEEP"
    | "PLUGIN_RESULT_TOO_COMPLEX"
    | "PLUGIN_TOO_MANY_INSTANCES"
    | "PLUGIN_TOO_MANY_MEMORIES"
    | "PLUGIN_TOO_MANY_TABLES";
  limit?: number;
  used?: number;
}

/** One side's view of the shared buffers. */
export class Channel {
  readonly ctl: Int32Array;
  readonly num: Float64Array;
  readonly data: SharedArrayBuffer;
  private buf: Buffer;

  constructor(ctl: SharedArrayBuffer, data: SharedArrayBuffer) {
    this.ctl = new Int32Array(ctl, 0, NUM_OFFSET / 4);
    this.num = new Float64Array(ctl, NUM_OFFSET, (CTL_BYTES - NUM_OFFSET) / 8);
    this.data = data;
    this.buf = Buffer.from(data);
  }

  static create(): { ctl: SharedArrayBuffer; data: SharedArrayBuffer } {
    return {
      ctl: new SharedArrayBuffer(CTL_BYTES),
      data: new SharedArrayBuffer(DATA_INITIAL_BYTES, { maxByteLength: DATA_MAX_BYTES }),
    };
  }

  private ensure(bytes: number): void {
    if (bytes > this.data.byteLength) {
      if (bytes > DATA_MAX_BYTES) throw new RangeError(`message of ${bytes} bytes exceeds the wire maximum`);
      let size = this.data.byteLength;
      while (size < bytes) size *= 2;
      this.data.grow(Math.min(size, DATA_MAX_BYTES));
    }
    if (this.buf.length !== this.data.byteLength) this.buf = Buffer.from(this.data);
  }

  /** Writes strings as `[u32 length][utf-8 bytes]…`; returns the payload length. */
  writeStrings(values: readonly string[]): number {
    let total = 0;
    const lengths: number[] = [];
    for (const v of values) {
      const n = Buffer.byteLength(v, "utf8");
      lengths.push(n);
      total += 4 + n;
    }
    this.ensure(total);
    const buf = this.buf;
    let off = 0;
    for (let i = 0; i < values.length; i++) {
      const n = lengths[i] as number;
      buf.writeUInt32LE(n, off);
      off += 4;
      if (n > 0) buf.write(values[i] as string, off, n, "utf8");
      off += n;
    }
    return total;
  }

  readStrings(length: number): string[] {
    if (this.buf.length !== this.data.byteLength) this.buf = Buffer.from(this.data);
    const buf = this.buf;
    const out: string[] = [];
    let off = 0;
    while (off < length) {
      const n = buf.readUInt32LE(off);
      off += 4;
      out.push(n === 0 ? "" : buf.toString("utf8", off, off + n));
      off += n;
    }
    return out;
  }
}
