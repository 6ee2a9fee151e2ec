import { channel } from "node:diagnostics_channel";
import { appendFileSync, closeSync, fstatSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { type AuditEvent, boundAuditEvent, escapeJsonControlText } from "@clawft/sandbox-policy";

/** The diagnostics channel every host call's audit event is published on. */
export const HOST_AUDIT_CHANNEL = "clawft:host";

const hostChannel = channel(HOST_AUDIT_CHANNEL);

/**
 * Delivers one audit event to the host's sink and to the `clawft:host` channel.
 * A sink that throws cannot break the call (its error is ignored).
 */
export function emitAudit(sink: ((event: AuditEvent) => void) | undefined, raw: AuditEvent): void {
  // Every string cut to AUDIT_STRING_MAX_BYTES, its original length recorded (T50).
  const event = boundAuditEvent(raw);
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
  /**
   * Largest size of the current file in bytes: a line that would take it past this
   * starts a new file (the old one becomes `<path>.1`, `.1` becomes `.2`, ...).
   * Stops a plugin (or many) from filling the disk through the audit trail (T53).
   * @default 16777216 (16 MiB)
   */
  maxBytes?: number;
  /**
   * How many files are kept, the current one included (`<path>`, `<path>.1`, ...,
   * `<path>.<maxFiles - 1>`); the oldest is deleted on rotation. 1 keeps only the
   * current file (emptied when full). Total disk use stays under about
   * `maxBytes * maxFiles`.
   * @default 3
   */
  maxFiles?: number;
}

/** Default `maxBytes` of the JSONL sink. */
export const JSONL_AUDIT_DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** Default `maxFiles` of the JSONL sink. */
export const JSONL_AUDIT_DEFAULT_MAX_FILES = 3;
const JSONL_AUDIT_MAX_FILES_LIMIT = 1000;

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
 * plugin's call settles. The file is rotated at `maxBytes` and at most `maxFiles`
 * files are kept (T53); rotated files keep their 0600 mode.
 */
export function createJsonlAuditSink(path: string, options: JsonlAuditSinkOptions = {}): JsonlAuditSink {
  if (typeof path !== "string" || path.length === 0 || path.includes("\0")) {
    throw new TypeError("path must be a non-empty string without NUL bytes");
  }
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  if (options.fsync !== undefined && typeof options.fsync !== "boolean") {
    throw new TypeError("fsync must be a boolean");
  }
  const maxBytes = options.maxBytes ?? JSONL_AUDIT_DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new TypeError("maxBytes must be an integer >= 1");
  const maxFiles = options.maxFiles ?? JSONL_AUDIT_DEFAULT_MAX_FILES;
  if (!Number.isInteger(maxFiles) || maxFiles < 1 || maxFiles > JSONL_AUDIT_MAX_FILES_LIMIT) {
    throw new TypeError(`maxFiles must be an integer from 1 to ${JSONL_AUDIT_MAX_FILES_LIMIT}`);
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number | undefined = openSync(path, "a", 0o600);
  let size = fstatSync(fd).size;
  const doSync = options.fsync === true;
  /** Shifts `<path>.i` to `<path>.(i+1)` (the oldest is deleted) and starts an empty `<path>`. */
  const rotate = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    if (maxFiles === 1) {
      rmSync(path, { force: true });
    } else {
      rmSync(`${path}.${maxFiles - 1}`, { force: true });
      for (let i = maxFiles - 2; i >= 1; i--) {
        try {
          renameSync(`${path}.${i}`, `${path}.${i + 1}`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
      }
      renameSync(path, `${path}.1`);
    }
    fd = openSync(path, "a", 0o600);
    size = 0;
  };
  const sink = ((event: AuditEvent) => {
    if (fd === undefined) return;
    // Plugin text (paths, URLs, env names) cannot put bidi or C1 controls in the file raw.
    const line = `${escapeJsonControlText(JSON.stringify(event))}\n`;
    const bytes = Buffer.byteLength(line, "utf8");
    // A line never makes the file pass maxBytes, unless it is alone in a new file.
    if (size > 0 && size + bytes > maxBytes) rotate();
    if (fd === undefined) return;
    appendFileSync(fd, line);
    size += bytes;
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
