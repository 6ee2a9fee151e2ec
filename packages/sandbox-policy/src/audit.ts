import { truncateLogMessage } from "./log.js";

/** The five host functions of the `clawft:plugin/host` interface. */
export type HostFunction = "http-request" | "read-file" | "write-file" | "get-env" | "log";

/** What became of one guarded operation. */
export type AuditResult = "ok" | "refused" | "dropped" | "error";

/**
 * One event per host call, as the host sends it to its sink and to the
 * `clawft:host` diagnostics channel. `args` is a redacted summary: env values,
 * file contents, URL query values and userinfo never appear in it.
 *
 * Every string in an event the host emits is at most `AUDIT_STRING_MAX_BYTES`
 * UTF-8 bytes (see `boundAuditEvent`); a cut `args.<key>` comes with
 * `args.<key>Bytes`, the original length. Calls refused by a rate limit are not
 * audited one by one: one event per window (`result: "refused"`,
 * `code: "RATE_LIMITED"`) carries their count in `args.dropped`.
 */
export interface AuditEvent {
  pluginId: string;
  function: HostFunction;
  args: Record<string, string | number | boolean | null>;
  result: AuditResult;
  /** The refusal or error code, when `result` is not `ok`. */
  code?: string;
  durationMs: number;
  /** Milliseconds since the epoch when the call started. */
  timestamp?: number;
}

/** The eight filesystem operations of `@clawft/sandbox-fs`. */
export type FsOperation =
  | "readFile"
  | "writeFile"
  | "appendFile"
  | "exists"
  | "listDir"
  | "createDirAll"
  | "removeFile"
  | "stat";

/** One event per filesystem operation (`clawft:fs` channel). */
export interface FsAuditEvent {
  op: FsOperation;
  /** The path relative to its root, or `"(outside)"` when it was not inside any root. */
  path: string;
  result: AuditResult;
  code?: string;
  bytes?: number;
  durationMs: number;
}

/** One event per HTTP request (`clawft:http` channel). */
export interface HttpAuditEvent {
  method: string;
  /** `scheme://host/path` with query values and userinfo redacted. */
  url: string;
  status?: number;
  result: AuditResult;
  code?: string;
  /** Response body bytes received (request body bytes are in `requestBytes`). */
  bytes?: number;
  requestBytes?: number;
  durationMs: number;
}

/** Where audit events go: a function that must not throw (errors are ignored). */
export type AuditSink<E> = (event: E) => void;

/**
 * Longest string, in UTF-8 bytes, that an audit event carries (before the
 * truncation suffix). 256 bytes keep a path or URL recognisable while one event
 * stays under ~2 KiB even when a JSONL sink escapes every byte to `\\u00XX`.
 */
export const AUDIT_STRING_MAX_BYTES = 256;

/** UTF-8 length of `s` (a lone surrogate counts as the 3 bytes of U+FFFD), without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Cuts one audit string like a log message (`... [truncated]`, never mid-character). */
export function cutAuditString(value: string, maxBytes: number = AUDIT_STRING_MAX_BYTES): string {
  return truncateLogMessage(value, maxBytes);
}

/**
 * Returns `event` with every string cut to `maxBytes` (T50): `pluginId`, `code`
 * and each string in `args`. For a cut `args.<key>` it adds `args.<key>Bytes`,
 * the original UTF-8 length, unless the summary already records it. Stops a
 * plugin from writing megabytes of audit per call through a huge path, method or
 * env name (a 30 MiB path of control bytes became 90+ MiB of JSONL). The event is
 * returned as is (same object) when nothing needed cutting.
 */
export function boundAuditEvent(event: AuditEvent, maxBytes: number = AUDIT_STRING_MAX_BYTES): AuditEvent {
  let args: AuditEvent["args"] | undefined;
  for (const [key, value] of Object.entries(event.args)) {
    if (typeof value !== "string") continue;
    const cut = cutAuditString(value, maxBytes);
    if (cut === value) continue;
    args ??= { ...event.args };
    args[key] = cut;
    const lengthKey = `${key}Bytes`;
    if (!(lengthKey in event.args)) args[lengthKey] = utf8Length(value);
  }
  const pluginId = cutAuditString(event.pluginId, maxBytes);
  const code = event.code === undefined ? undefined : cutAuditString(event.code, maxBytes);
  if (!args && pluginId === event.pluginId && code === event.code) return event;
  const out: AuditEvent = { ...event, pluginId, args: args ?? event.args };
  if (code !== undefined) out.code = code;
  return out;
}
