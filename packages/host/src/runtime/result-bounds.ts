/**
 * Bounds on what a guest sends back to the host's main thread: its tool results
 * (size, nesting depth, number of objects and arrays) and its error strings.
 * Checked in the plugin's worker, before anything is copied to the main thread.
 * Pure functions: no I/O, no Node APIs but `Buffer.byteLength`.
 */
import { truncateLogMessage } from "@clawft/sandbox-policy/core";

/** Longest guest error string (tool `err`, init payload, trap or describe failure) sent to the main thread, in UTF-8 bytes. */
export const GUEST_TEXT_MAX_BYTES = 4096;
/**
 * Longest guest text the main thread accepts from the worker: the cut text plus room
 * for its marker. The main thread cuts again to this (defence in depth), which never
 * changes text the worker already cut.
 */
export const GUEST_TEXT_WIRE_MAX_BYTES = GUEST_TEXT_MAX_BYTES + 64;
/** Deepest nesting of objects and arrays in a JSON result (`[]` is depth 1). */
export const RESULT_MAX_DEPTH = 64;
/**
 * Largest describe() JSON, in UTF-8 bytes: checked with the same bounds as a result,
 * but not lowered with `max_result_bytes` (a small result limit must not break loading).
 */
export const DESCRIBE_MAX_BYTES = 1024 * 1024;
/** Objects and arrays every JSON result may hold, whatever its size. */
export const RESULT_CONTAINERS_FREE = 1024;
/** One more object or array allowed per this many bytes of result. */
export const RESULT_BYTES_PER_CONTAINER = 16;

/**
 * Cuts a guest-chosen string to `GUEST_TEXT_MAX_BYTES` UTF-8 bytes on a character
 * boundary, ending `... [truncated, N bytes]` with the full length N. Stops a
 * plugin from pushing megabytes into the host's main thread and into
 * `PluginError.message` through an error string (a 15 MiB init payload).
 */
export function cutGuestText(text: string, maxBytes: number = GUEST_TEXT_MAX_BYTES): string {
  // Every UTF-16 unit encodes to at most 3 bytes: short text needs no counting.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= maxBytes) return text;
  return truncateLogMessage(text, maxBytes, `... [truncated, ${bytes} bytes]`);
}

/** The most objects and arrays a JSON result of `bytes` UTF-8 bytes may hold. */
export function resultContainerLimit(bytes: number): number {
  return RESULT_CONTAINERS_FREE + Math.floor(bytes / RESULT_BYTES_PER_CONTAINER);
}

/** What `checkResult` decided about one result. */
export type ResultCheck =
  /** Valid JSON within the bounds: the main thread parses it. */
  | { type: "json" }
  /** Not JSON: the main thread returns it as the raw string (no parse cost). */
  | { type: "text" }
  | { type: "refused"; code: ResultRefusalCode; message: string; limit: number; used: number };

export type ResultRefusalCode = "PLUGIN_RESULT_TOO_LARGE" | "PLUGIN_RESULT_TOO_DEEP" | "PLUGIN_RESULT_TOO_COMPLEX";

/**
 * Decides, in the worker, whether a result may go to the main thread.
 *
 * - Over `maxBytes` UTF-8 bytes: refused from its length alone (no copy, no scan).
 * - Valid JSON nested deeper than `RESULT_MAX_DEPTH`, or holding more than
 *   `resultContainerLimit(bytes)` objects and arrays: refused. Each object costs
 *   the main heap 40–190 bytes when parsed, so `[{},{},...]` would cost over 20
 *   times its size; the limit keeps every result under a small constant times
 *   its byte size (see the README's resource budget).
 * - Otherwise JSON (parsed on the main thread) or text (returned as is).
 *
 * Stops a plugin from exhausting the host's main heap with a huge or dense
 * result, or its stack with a deeply nested one.
 */
export function checkResult(text: string, maxBytes: number): ResultCheck {
  if (text.length * 3 > maxBytes) {
    // UTF-8 never has fewer bytes than UTF-16 units: a string longer than the limit is over it.
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > maxBytes) {
      return {
        type: "refused",
        code: "PLUGIN_RESULT_TOO_LARGE",
        message: `result too large: ${bytes} bytes (limit ${maxBytes})`,
        limit: maxBytes,
        used: bytes,
      };
    }
  }
  const scan = scanJson(text);
  if (!scan.valid) return { type: "text" };
  if (scan.depth > RESULT_MAX_DEPTH) {
    return {
      type: "refused",
      code: "PLUGIN_RESULT_TOO_DEEP",
      message: `result nested too deeply: ${scan.depth} levels (limit ${RESULT_MAX_DEPTH})`,
      limit: RESULT_MAX_DEPTH,
      used: scan.depth,
    };
  }
  if (scan.containers > RESULT_CONTAINERS_FREE) {
    const bytes = Buffer.byteLength(text, "utf8");
    const limit = resultContainerLimit(bytes);
    if (scan.containers > limit) {
      return {
        type: "refused",
        code: "PLUGIN_RESULT_TOO_COMPLEX",
        message: `result too complex: ${scan.containers} objects and arrays (limit ${limit} for ${bytes} bytes)`,
        limit,
        used: scan.containers,
      };
    }
  }
  return { type: "json" };
}

/** The shape of a text as `JSON.parse` would read it. */
export interface JsonScan {
  /** True exactly when `JSON.parse(text)` succeeds. */
  valid: boolean;
  /** Deepest nesting of objects and arrays (0 for a scalar). Meaningful when valid. */
  depth: number;
  /** Objects and arrays. Meaningful when valid. */
  containers: number;
}

const INVALID: JsonScan = Object.freeze({ valid: false, depth: 0, containers: 0 });

// Character codes.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

// The scanner's helpers are plain module functions over (text, index) that return the
// next index, or -1 when the text is not JSON: V8 optimises and inlines them (closures
// over a shared mutable index made the scan several times slower).

/** The index of the first non-whitespace unit at or after `i`. */
function skipWs(text: string, i: number, n: number): number {
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** A run of string units that need no attention (not `"`, `\`, or a control character). */
const PLAIN_STRING_RUN = /[^"\\\u0000-\u001f]*/y;

/** A string starting at its opening quote `i`; the index after its closing quote, or -1. */
function readString(text: string, i: number, n: number): number {
  i++;
  let plain = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (c !== QUOTE && c !== BACKSLASH && c >= 0x20) {
      // Short strings are read unit by unit; after 32 plain units the rest of the run
      // goes through the regex engine (native code, several times faster per unit).
      if (++plain < 32) {
        i++;
        continue;
      }
      PLAIN_STRING_RUN.lastIndex = i;
      PLAIN_STRING_RUN.test(text);
      i = PLAIN_STRING_RUN.lastIndex;
      plain = 0;
      if (i >= n) return -1;
      c = text.charCodeAt(i);
    }
    plain = 0;
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = text.charCodeAt(i + 1);
      if (e === 0x75 /* u */) {
        if (
          !isHex(text.charCodeAt(i + 2)) ||
          !isHex(text.charCodeAt(i + 3)) ||
          !isHex(text.charCodeAt(i + 4)) ||
          !isHex(text.charCodeAt(i + 5))
        ) {
          return -1;
        }
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
        continue;
      }
      return -1;
    }
    i++;
  }
  return -1;
}

/** A number starting at `i`; the index after it, or -1. */
function readNumber(text: string, i: number): number {
  if (text.charCodeAt(i) === MINUS) i++;
  const first = text.charCodeAt(i);
  if (first === ZERO) i++;
  else if (first > ZERO && first <= NINE) {
    while (isDigit(text.charCodeAt(i))) i++;
  } else return -1;
  if (text.charCodeAt(i) === DOT) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === PLUS || sign === MINUS) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

/** An object member's key and colon at `i` (whitespace skipped); the index of its value, or -1. */
function readKey(text: string, i: number, n: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1;
  i = readString(text, i, n);
  if (i < 0) return -1;
  i = skipWs(text, i, n);
  if (text.charCodeAt(i) !== COLON) return -1;
  return skipWs(text, i + 1, n);
}

/** One byte per open container (1: object, 0: array), reused between scans (a worker runs one scan at a time). */
let scanStack = new Uint8Array(256);

/**
 * Reads `text` with the grammar of `JSON.parse` (RFC 8259; whitespace is space,
 * tab, LF, CR) without building anything: one pass over the UTF-16 units, a stack
 * of one byte per open container. Returns whether it is valid, its depth and its
 * number of objects and arrays. Runs in the worker, so the main thread never
 * parses a result it would refuse.
 */
export function scanJson(text: string): JsonScan {
  const n = text.length;
  let depth = 0;
  let maxDepth = 0;
  let containers = 0;
  let i = skipWs(text, 0, n);
  // Each turn reads one value (or, right after `[` / `{`, finds the container empty),
  // then closes containers and moves past one comma.
  for (;;) {
    if (i >= n) return INVALID;
    const c = text.charCodeAt(i);
    let empty = false;
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (depth === scanStack.length) {
        const bigger = new Uint8Array(scanStack.length * 2);
        bigger.set(scanStack);
        scanStack = bigger;
      }
      const inObject = c === OPEN_OBJECT;
      scanStack[depth] = inObject ? 1 : 0;
      depth++;
      containers++;
      if (depth > maxDepth) maxDepth = depth;
      i = skipWs(text, i + 1, n);
      const d = text.charCodeAt(i);
      if ((inObject && d === CLOSE_OBJECT) || (!inObject && d === CLOSE_ARRAY)) {
        i++;
        depth--;
        empty = true;
      } else {
        if (inObject) {
          i = readKey(text, i, n);
          if (i < 0) return INVALID;
        }
        continue; // the first value follows
      }
    }
    if (!empty) {
      if (c === QUOTE) i = readString(text, i, n);
      else if (c === MINUS || isDigit(c)) i = readNumber(text, i);
      else if (c === 0x74 /* t */) i = text.startsWith("true", i) ? i + 4 : -1;
      else if (c === 0x66 /* f */) i = text.startsWith("false", i) ? i + 5 : -1;
      else if (c === 0x6e /* n */) i = text.startsWith("null", i) ? i + 4 : -1;
      else return INVALID;
      if (i < 0) return INVALID;
    }
    // A value ended: close containers, or go on after a comma.
    for (;;) {
      i = skipWs(text, i, n);
      if (depth === 0) return i === n ? { valid: true, depth: maxDepth, containers } : INVALID;
      const d = text.charCodeAt(i);
      const inObject = scanStack[depth - 1] === 1;
      if (d === COMMA) {
        i = skipWs(text, i + 1, n);
        if (inObject) {
          i = readKey(text, i, n);
          if (i < 0) return INVALID;
        }
        break; // the next value
      }
      if ((inObject && d === CLOSE_OBJECT) || (!inObject && d === CLOSE_ARRAY)) {
        i++;
        depth--;
        continue;
      }
      return INVALID;
    }
  }
}
