import { ClawftError, type ClawftErrorOptions } from "@clawft/sandbox-policy";

/**
 * Every stable code a {@link LifecycleError} can carry. Users (and the CLI's exit codes)
 * match on these, never on the message.
 */
export const LIFECYCLE_ERROR_CODES = Object.freeze({
  /** The install source (path or URL) is unusable: not found, not a folder/archive, bad scheme. */
  SOURCE_INVALID: "PLUGIN_SOURCE_INVALID",
  /** The archive is malformed, truncated, or holds an entry that is not allowed. */
  ARCHIVE_INVALID: "PLUGIN_ARCHIVE_INVALID",
  /** The archive (compressed or expanded), an entry, or the file count is over its limit. */
  ARCHIVE_TOO_LARGE: "PLUGIN_ARCHIVE_TOO_LARGE",
  /** The manifest is missing or does not validate. */
  MANIFEST_INVALID: "PLUGIN_INVALID_MANIFEST",
  /** The module is over the uncompressed or gzipped size limit (T36). */
  MODULE_TOO_LARGE: "PLUGIN_TOO_LARGE",
  /** A registry install carries no signature file (T37). */
  SIGNATURE_MISSING: "PLUGIN_SIGNATURE_MISSING",
  /** The signature file is malformed or does not verify over this manifest and module. */
  SIGNATURE_INVALID: "PLUGIN_SIGNATURE_INVALID",
  /** The signature verifies, but with a key that is not in the trusted keys. */
  SIGNATURE_UNTRUSTED: "PLUGIN_SIGNATURE_UNTRUSTED",
  /** An installed file no longer matches the sha256 recorded at install. */
  INTEGRITY_MISMATCH: "PLUGIN_INTEGRITY_MISMATCH",
  /** The user (or the non-interactive policy) refused the permissions the plugin asks for. */
  CONSENT_DENIED: "PLUGIN_CONSENT_DENIED",
  /** No installed plugin has this id. */
  NOT_FOUND: "PLUGIN_NOT_FOUND",
  /** An install would replace a newer installed version (rollback to an older signed release). */
  DOWNGRADE_REFUSED: "PLUGIN_DOWNGRADE_REFUSED",
  /** The download failed: HTTP status, redirect, timeout, connection error. */
  DOWNLOAD_FAILED: "PLUGIN_DOWNLOAD_FAILED",
  /** A public key could not be parsed as an Ed25519 key. */
  KEY_INVALID: "PLUGIN_KEY_INVALID",
  /** No trusted key matches this id. */
  KEY_NOT_FOUND: "PLUGIN_KEY_NOT_FOUND",
  /** A file in the data directory (keys, approvals, install record) is unreadable or corrupt. */
  STATE_CORRUPT: "PLUGIN_STATE_CORRUPT",
  /** A state file or folder is a symlink, owned by another user, or writable by group/others (T70, T75). */
  STATE_UNSAFE: "PLUGIN_STATE_UNSAFE",
  /** The disk (or quota) of the data directory is full: nothing was changed (T68). */
  NO_SPACE: "PLUGIN_NO_SPACE",
  /** Another process holds the data directory's lock for too long. */
  BUSY: "PLUGIN_DATA_DIR_BUSY",
  /** A PluginManager option is invalid (thrown at construction, naming the field). */
  OPTIONS_INVALID: "PLUGIN_OPTIONS_INVALID",
} as const);

export type LifecycleErrorCode = (typeof LIFECYCLE_ERROR_CODES)[keyof typeof LIFECYCLE_ERROR_CODES];

/**
 * An install, verification, consent or data-directory failure of the plugin lifecycle.
 * Match on `code` (see {@link LIFECYCLE_ERROR_CODES}) or use `LifecycleError.isInstance()`,
 * which survives two installed copies of the package.
 */
export class LifecycleError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.LifecycleError");
  declare readonly code: LifecycleErrorCode;

  constructor(code: LifecycleErrorCode, message: string, options: ClawftErrorOptions = {}) {
    super(code, message, options);
    this.name = "LifecycleError";
  }
}
