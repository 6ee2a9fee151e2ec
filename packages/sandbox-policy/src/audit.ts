/** The five host functions of the `clawft:plugin/host` interface. */
export type HostFunction = "http-request" | "read-file" | "write-file" | "get-env" | "log";

/** What became of one guarded operation. */
export type AuditResult = "ok" | "refused" | "dropped" | "error";

/**
 * One event per host call, as the host sends it to its sink and to the
 * `clawft:host` diagnostics channel. `args` is a redacted summary: env values,
 * file contents, URL query values and userinfo never appear in it.
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
