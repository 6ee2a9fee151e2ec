import { ClawftError, SandboxError } from "@clawft/sandbox-policy/core";

/** Every refusal or failure code a `SandboxedFileSystem` operation can throw. */
export type FsErrorCode =
  | "FS_NOT_PERMITTED"
  | "FS_OUTSIDE_SANDBOX"
  | "FS_SYMLINK_ESCAPE"
  | "FS_TOO_LARGE"
  | "FS_NOT_FOUND"
  | "FS_NOT_UTF8"
  | "FS_NOT_A_FILE"
  | "FS_INVALID_PATH"
  | "FS_READ_ONLY"
  | "FS_IO_ERROR";

/**
 * The start of each error message. The first four are the security catalogue's
 * texts (docs/security-catalogue.md), which plugins see verbatim.
 */
export const FS_ERROR_MESSAGES: Readonly<Record<FsErrorCode, string>> = Object.freeze({
  FS_NOT_PERMITTED: "filesystem access not permitted",
  FS_OUTSIDE_SANDBOX: "filesystem access denied",
  FS_SYMLINK_ESCAPE: "symlink points outside sandbox",
  FS_TOO_LARGE: "file too large",
  FS_NOT_FOUND: "file not found",
  FS_NOT_UTF8: "file is not valid UTF-8",
  FS_NOT_A_FILE: "not a regular file",
  FS_INVALID_PATH: "invalid path",
  FS_READ_ONLY: "path is read-only",
  FS_IO_ERROR: "filesystem error",
});

/** Codes that are a policy refusal (audit `result: "refused"`); the others are `"error"`. */
export const FS_REFUSAL_CODES: ReadonlySet<string> = new Set<FsErrorCode>([
  "FS_NOT_PERMITTED",
  "FS_OUTSIDE_SANDBOX",
  "FS_SYMLINK_ESCAPE",
  "FS_TOO_LARGE",
  "FS_INVALID_PATH",
  "FS_READ_ONLY",
]);

/**
 * A `SandboxError` whose message is the code's text, then `: detail` when given.
 * Details only ever name paths inside the sandbox (relative to their root), never
 * what a symlink points to or anything outside.
 */
export function fsError(code: FsErrorCode, detail?: string, cause?: unknown): SandboxError {
  const base = FS_ERROR_MESSAGES[code];
  const message = detail === undefined || detail === "" ? base : `${base}: ${detail}`;
  return new SandboxError(code, message, cause === undefined ? {} : { cause });
}

/** Quotes a (sandbox-relative) path for a message, cut to a readable length. */
export function quotePath(rel: string): string {
  const cut = rel.length > 200 ? `${rel.slice(0, 200)}…` : rel;
  return JSON.stringify(cut);
}

/** Thrown by `SandboxedFileSystem.create` for a bad option; the message names the field. */
export class FsOptionsError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.FsOptionsError");

  constructor(message: string, options: { cause?: unknown } = {}) {
    super("FS_INVALID_OPTIONS", message, options);
    this.name = "FsOptionsError";
  }
}

/**
 * Thrown by `SandboxedFileSystem.create` when the platform cannot tell which file a
 * descriptor names (no usable `/proc/self/fd`). The sandbox refuses to start
 * rather than fall back to checking path strings, which symlink swaps defeat.
 */
export class FsPlatformError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.FsPlatformError");

  constructor(message: string, options: { cause?: unknown } = {}) {
    super("FS_UNSUPPORTED_PLATFORM", message, options);
    this.name = "FsPlatformError";
  }
}
