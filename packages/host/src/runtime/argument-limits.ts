/**
 * Per-function limits of host-call arguments, checked in the plugin's worker from
 * the length the guest hands over (the canonical ABI length), BEFORE a string is
 * decoded or anything is copied to the main thread (T49, T61). Both lowering paths
 * use them: the direct lowering (host-lowering.ts) and jco's trampolines
 * (jco-guard.ts).
 *
 * Why: a plugin with no permissions at all could pass a 30 MiB path; the worker
 * decoded it, the main thread copied and audited it (90 MiB of JSONL per call,
 * 1–2 s of event-loop stall for every other plugin).
 */
import { HOST_CALL_ARGUMENT_LIMITS, SANDBOX_DEFAULTS } from "@clawft/sandbox-policy/core";

/** The arguments that have a limit, as they are named in refusals and audit events. */
export type LimitedArgument = "method" | "url" | "headers" | "body" | "path" | "content" | "name";

/** An argument over its limit: what the worker tells the main thread instead of the argument. */
export interface ArgumentRefusal {
  argument: LimitedArgument;
  /** The size the guest asked for: bytes, or entries for the header count. */
  size: number;
  limit: number;
  unit: "bytes" | "entries";
}

/** Limits by argument (UTF-8 bytes; headers in bytes of names and values together). */
export const ARGUMENT_BYTE_LIMITS: Readonly<Record<LimitedArgument, number>> = Object.freeze({
  method: HOST_CALL_ARGUMENT_LIMITS.methodBytes,
  url: HOST_CALL_ARGUMENT_LIMITS.urlBytes,
  headers: HOST_CALL_ARGUMENT_LIMITS.headerBytes,
  body: HOST_CALL_ARGUMENT_LIMITS.requestBodyBytes,
  path: HOST_CALL_ARGUMENT_LIMITS.pathBytes,
  content: HOST_CALL_ARGUMENT_LIMITS.writeContentBytes,
  name: HOST_CALL_ARGUMENT_LIMITS.envNameBytes,
});

/** Most header entries lifted out of guest memory (sandbox-http refuses more than 100 anyway). */
export const MAX_LIFTED_HEADERS = HOST_CALL_ARGUMENT_LIMITS.headerCount;

/**
 * Bytes of a log message that are ever decoded: the 4096 bytes T35 keeps plus one
 * more character (at most 4 bytes) so the main thread's `truncateLogMessage` sees
 * that the message was longer. Cutting the raw bytes here gives exactly the same
 * text as cutting the whole decoded message: each decoded character takes at least
 * as many bytes when encoded again as it took in the input (U+FFFD for 1–3 invalid
 * bytes is 3), so the characters T35 keeps and the first one it drops all lie in
 * the first 4100 input bytes.
 */
export const LOG_DECODE_BYTES = SANDBOX_DEFAULTS.logMessageBytes + 4;

/** The refusal for `argument` of `size` bytes, or undefined when it is within its limit. */
export function checkArgumentBytes(argument: LimitedArgument, size: number): ArgumentRefusal | undefined {
  const limit = ARGUMENT_BYTE_LIMITS[argument];
  return size > limit ? { argument, size, limit, unit: "bytes" } : undefined;
}

/** The refusal for a header list of `count` entries, or undefined when it is within the limit. */
export function checkHeaderCount(count: number): ArgumentRefusal | undefined {
  return count > MAX_LIFTED_HEADERS ? { argument: "headers", size: count, limit: MAX_LIFTED_HEADERS, unit: "entries" } : undefined;
}

/** UTF-8 length of `s` when it is over `limit`, else 0 (cheap tests first: a UTF-16 unit is 1 to 3 bytes). */
export function bytesOver(s: string, limit: number): number {
  if (s.length * 3 <= limit) return 0;
  const n = Buffer.byteLength(s, "utf8");
  return n > limit ? n : 0;
}
