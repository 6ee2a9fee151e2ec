import { assertClock, assertLimit, assertWindow } from "./rate.js";

/** What `truncateLogMessage` appends to a cut message. */
export const TRUNCATION_SUFFIX = "... [truncated]";
/** Default byte limit of one log message (docs/security-catalogue.md, T35). */
export const LOG_MESSAGE_MAX_BYTES = 4096;

/**
 * Cuts a message over `maxBytes` UTF-8 bytes to its longest prefix of at most
 * `maxBytes` bytes that ends on a character boundary (never between the two
 * halves of a surrogate pair), then appends `suffix` (not counted; default
 * `... [truncated]`). A lone surrogate counts as the 3 bytes of the U+FFFD an
 * encoder writes for it. Stops a plugin from flooding the host's log (or an
 * error message) with huge text without ever producing broken UTF-8.
 */
export function truncateLogMessage(
  msg: string,
  maxBytes: number = LOG_MESSAGE_MAX_BYTES,
  suffix: string = TRUNCATION_SUFFIX,
): string {
  if (typeof msg !== "string") throw new TypeError("msg must be a string");
  if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new TypeError("maxBytes must be an integer >= 0");
  if (typeof suffix !== "string") throw new TypeError("suffix must be a string");
  // Every UTF-16 unit encodes to at most 3 bytes.
  if (msg.length * 3 <= maxBytes) return msg;
  let bytes = 0;
  let i = 0;
  const n = msg.length;
  while (i < n) {
    const c = msg.charCodeAt(i);
    let size: number;
    let units = 1;
    if (c < 0x80) size = 1;
    else if (c < 0x800) size = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = msg.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        size = 4;
        units = 2;
      } else size = 3;
    } else size = 3;
    if (bytes + size > maxBytes) return msg.slice(0, i) + suffix;
    bytes += size;
    i += units;
  }
  return msg;
}

/**
 * Characters that `escapeControlText` rewrites: the backslash (so the escaping
 * stays injective), C0 controls, DEL, C1 controls, the bidi marks, embeddings,
 * overrides and isolates (U+061C, U+200E, U+200F, U+202A-U+202E,
 * U+2066-U+2069), the line and paragraph separators U+2028/U+2029, and lone
 * surrogates (an encoder would turn them into U+FFFD, so two different inputs
 * could print the same).
 */
const CONTROL_TEXT_RE =
  /[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const CONTROL_TEXT_TEST_RE =
  /[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const SHORT_ESCAPES: Readonly<Record<string, string>> = Object.freeze({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" });

function escapeOne(c: string): string {
  const short = SHORT_ESCAPES[c];
  if (short !== undefined) return short;
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Makes untrusted text (a plugin's log message, an error string it chose) safe
 * to put in one terminal or log line: `\` becomes `\\`; tab, LF and CR become
 * `\t`, `\n`, `\r`; every other C0 control, DEL and C1 control becomes `\xHH`
 * (`\x1b`, `\x00`, `\x9b`); the bidi controls, U+2028/U+2029 and lone
 * surrogates become `\uHHHH` (`\u202e`). Everything else, including other
 * non-ASCII text, is kept as it is; text with nothing to escape is returned
 * unchanged. The escaping is injective (each output reads back to exactly one
 * input) and its output is well-formed UTF-16.
 *
 * Stops a plugin from forging or hiding log lines: a newline followed by
 * `[clawft error] other.plugin: ...`, ANSI/OSC escape sequences that recolour,
 * retitle or erase the terminal, NUL, and bidi overrides that make a line read
 * differently from the bytes it holds ("Trojan Source").
 */
export function escapeControlText(text: string): string {
  if (typeof text !== "string") throw new TypeError("text must be a string");
  if (!CONTROL_TEXT_TEST_RE.test(text)) return text;
  return text.replace(CONTROL_TEXT_RE, escapeOne);
}

/** Characters `JSON.stringify` writes raw that a terminal must not receive as they are. */
const JSON_RAW_UNSAFE_RE = /[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const JSON_RAW_UNSAFE_TEST_RE = /[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/**
 * Finishes `JSON.stringify` output for a terminal or a log file: the characters it
 * leaves raw — DEL, C1 controls, the bidi controls of `escapeControlText` and
 * U+2028/U+2029 — become `\uHHHH` escapes, which every JSON parser reads back as
 * the same value (C0 controls and lone surrogates are already escaped by
 * `JSON.stringify`). Stops plugin text in JSON lines (an audit trail, `--json`
 * output) from reordering or recolouring what a reader of the file sees.
 */
export function escapeJsonControlText(json: string): string {
  if (typeof json !== "string") throw new TypeError("json must be a string");
  if (!JSON_RAW_UNSAFE_TEST_RE.test(json)) return json;
  return json.replace(JSON_RAW_UNSAFE_RE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Options of `LogLimiter`. */
export interface LogLimiterOptions {
  /**
   * Messages written per window.
   * @default 100
   */
  limit?: number;
  /**
   * Window length in milliseconds.
   * @default 60000
   */
  windowMs?: number;
  /**
   * The clock, in milliseconds.
   * @default performance.now
   */
  now?: () => number;
}

const defaultNow = (): number => performance.now();

/**
 * The log budget of one plugin instance: `limit` messages per fixed window;
 * the rest are dropped silently and counted (T33, T34). When a window ends,
 * its dropped count becomes available once through `takeDropped()`, so the
 * host writes ONE throttle warning per window instead of one per message.
 * Stops log flooding (disk filling, hiding other entries).
 *
 * Host usage, on every `log` call:
 * ```ts
 * const dropped = limiter.takeDropped();
 * if (dropped > 0) warn(`plugin ${id}: ${dropped} log messages dropped (rate limit)`);
 * if (limiter.tryLog()) write(truncateLogMessage(message));
 * ```
 * and `limiter.flushDropped()` when the plugin is closed.
 */
export class LogLimiter {
  readonly limit: number;
  readonly windowMs: number;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #used = 0;
  #dropped = 0;
  #pending = 0;

  constructor(options: LogLimiterOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("LogLimiter options must be an object");
    }
    const limit = options.limit ?? 100;
    const windowMs = options.windowMs ?? 60_000;
    assertLimit("limit", limit);
    assertWindow("windowMs", windowMs);
    assertClock("now", options.now);
    this.limit = limit;
    this.windowMs = windowMs;
    this.#now = options.now ?? defaultNow;
  }

  #roll(): void {
    const t = this.#now();
    if (!(t < this.#windowStart + this.windowMs) && !Number.isNaN(t)) {
      this.#pending += this.#dropped;
      this.#dropped = 0;
      this.#used = 0;
      this.#windowStart = t;
    }
  }

  /** True when the message may be written; false when it is dropped (and counted). */
  tryLog(): boolean {
    this.#roll();
    if (this.#used < this.limit) {
      this.#used++;
      return true;
    }
    this.#dropped++;
    return false;
  }

  /** Messages dropped so far in the current window. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * The number of messages dropped in windows that have ended since the last
   * call, reset to 0 by the call. 0 means no warning is due.
   */
  takeDropped(): number {
    const t = this.#now();
    if (!(t < this.#windowStart + this.windowMs) && !Number.isNaN(t)) {
      // The current window is over: its drops are final.
      this.#pending += this.#dropped;
      this.#dropped = 0;
    }
    const n = this.#pending;
    this.#pending = 0;
    return n;
  }

  /** Every dropped message not yet reported, including the current window's (for shutdown). */
  flushDropped(): number {
    const n = this.#pending + this.#dropped;
    this.#pending = 0;
    this.#dropped = 0;
    return n;
  }
}
