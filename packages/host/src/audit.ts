import { channel } from "node:diagnostics_channel";
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { type AuditEvent, escapeJsonControlText } from "@clawft/sandbox-policy";

/** The diagnostics channel every host call's audit event is published on. */
export const HOST_AUDIT_CHANNEL = "clawft:host";

const hostChannel = channel(HOST_AUDIT_CHANNEL);

/**
 * Delivers one audit event to the host's sink and to the `clawft:host` channel.
 * A sink that throws cannot break the call (its error is ignored).
 */
export function emitAudit(sink: ((event: AuditEvent) => void) | undefined, event: AuditEvent): void {
  // Frozen: a sink cannot alter what channel subscribers (or the next sink) see.
  Object.freeze(event.args);
  Object.freeze(event);
  if (sink) {
    try {
      sink(event);
    } catch {
      // A faulty sink must not change what the plugin sees.
    }
  }
  if (hostChannel.hasSubscribers) hostChannel.publish(event);
}

/** Options of `createJsonlAuditSink`. */
export interface JsonlAuditSinkOptions {
  /**
   * Flush each line to disk (`fsync`) before returning: nothing is lost on a crash,
   * at the cost of a disk flush per host call.
   * @default false
   */
  fsync?: boolean;
}

/** An audit sink that appends one JSON line per event to a file. */
export interface JsonlAuditSink {
  (event: AuditEvent): void;
  /** Closes the file. Later events are ignored. */
  close(): void;
  readonly path: string;
}

/**
 * Creates a sink that appends each event as one JSON line to `path` (created with
 * mode 0600, its folder with 0700: audit trails can reveal what plugins touched).
 * Writes are synchronous so that the event is on disk, in order, before the
 * plugin's call settles.
 */
export function createJsonlAuditSink(path: string, options: JsonlAuditSinkOptions = {}): JsonlAuditSink {
  if (typeof path !== "string" || path.length === 0 || path.includes("\0")) {
    throw new TypeError("path must be a non-empty string without NUL bytes");
  }
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  if (options.fsync !== undefined && typeof options.fsync !== "boolean") {
    throw new TypeError("fsync must be a boolean");
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number | undefined = openSync(path, "a", 0o600);
  const doSync = options.fsync === true;
  const sink = ((event: AuditEvent) => {
    if (fd === undefined) return;
    // Plugin text (paths, URLs, env names) cannot put bidi or C1 controls in the file raw.
    appendFileSync(fd, `${escapeJsonControlText(JSON.stringify(event))}\n`);
    if (doSync) fsyncSync(fd);
  }) as JsonlAuditSink;
  Object.defineProperty(sink, "path", { value: path, enumerable: true });
  sink.close = () => {
    if (fd !== undefined) {
      closeSync(fd);
      fd = undefined;
    }
  };
  return sink;
}
