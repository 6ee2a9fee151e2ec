import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { SANDBOX_DEFAULTS, escapeControlText } from "@clawft/sandbox-policy";
import type { Dispatcher } from "undici";
import { LifecycleError } from "./errors.js";
import type { PermissionSet } from "./permissions.js";
import { parsePublicKey, type TrustedKey } from "./signature.js";

const MiB = 1024 * 1024;

/** Why consent is being asked. */
export type ConsentReason = "install" | "upgrade" | "first-run";

/**
 * What the user is asked to approve. `permissions` holds only what is not approved yet
 * (on an upgrade: the new permissions only). Compatible with the host's `approve` request.
 */
export interface LifecycleConsentRequest {
  pluginId: string;
  version: string;
  /** The permissions to approve now (only the ones not already approved). */
  permissions: PermissionSet;
  /** The plugin's display name (manifest `name`). */
  name: string;
  /** The manifest's `description`, shown as the plugin's own reason, when it has one. */
  description?: string;
  reason: ConsentReason;
  /** What is already approved and stays approved (from this or the previously installed version). */
  alreadyApproved: PermissionSet;
  /** The version being replaced, on an upgrade. */
  previousVersion?: string;
  /**
   * The absolute folder the plugin's relative filesystem grants resolve against
   * (`<dataDir>/data/<id>`): show relative grants as the folder they become
   * (`describePermissions(p, { dataFolder })`).
   */
  dataFolder: string;
}

/** Returns true to grant every permission in the request, false to refuse. */
export type ConsentCallback = (request: LifecycleConsentRequest) => boolean | Promise<boolean>;

/** Where warnings (such as an unsigned local install, T38) go. */
export interface LifecycleLogger {
  warn(message: string): void;
  info?(message: string): void;
}

/** Options of {@link PluginManager}. All optional. */
export interface PluginManagerOptions {
  /**
   * The data directory: installed plugins, trusted keys, approvals, the audit log.
   * @default process.env.CLAWFT_HOME, else `~/.clawft`
   */
  dataDir?: string;
  /**
   * Largest module accepted, uncompressed, in bytes. An operator raises it for big plugins
   * (a componentize-qjs plugin is about 1 MB).
   * @default 307200 (300 KiB, SANDBOX_DEFAULTS.moduleBytes)
   */
  maxModuleBytes?: number;
  /**
   * Largest module accepted once gzipped (zlib default level, as the host measures it), in bytes.
   * @default 122880 (120 KiB, SANDBOX_DEFAULTS.moduleGzipBytes)
   */
  maxModuleGzipBytes?: number;
  /**
   * Largest archive (as downloaded / as on disk, compressed), in bytes.
   * @default max(8 MiB, 2 × maxModuleBytes)
   */
  maxArchiveBytes?: number;
  /**
   * Largest total size of an archive's files once expanded, in bytes (tar bomb guard).
   * @default max(16 MiB, 4 × maxModuleBytes)
   */
  maxExtractedBytes?: number;
  /**
   * Most entries (files and folders) an archive may hold.
   * @default 256
   */
  maxArchiveFiles?: number;
  /**
   * Deadline of a whole download, and of its headers and of each body read, in ms.
   * @default 60000
   */
  downloadTimeoutMs?: number;
  /**
   * Ed25519 public keys trusted in addition to the data directory's keys file (PEM, base64 of
   * the 32 raw bytes, or 64 hex digits). They are listed but cannot be removed with `keys remove`.
   * @default []
   */
  trustedKeys?: readonly string[];
  /**
   * Asked before a plugin gets permissions it has not been granted (at install, upgrade or
   * first run). Without it, every permission request is refused (deny by default).
   * @default undefined (refuse)
   */
  approve?: ConsentCallback;
  /**
   * Receives warnings (unsigned local install, untrusted signer).
   * @default process.emitWarning
   */
  logger?: LifecycleLogger;
  /**
   * The undici dispatcher used for downloads (a proxy agent, a custom CA…).
   * @default undici's global dispatcher
   */
  dispatcher?: Dispatcher;
}

/** The resolved, frozen form of the options. */
export interface ResolvedManagerOptions {
  readonly dataDir: string;
  readonly maxModuleBytes: number;
  readonly maxModuleGzipBytes: number;
  readonly maxArchiveBytes: number;
  readonly maxExtractedBytes: number;
  readonly maxArchiveFiles: number;
  readonly downloadTimeoutMs: number;
  readonly trustedKeys: readonly TrustedKey[];
  readonly approve: ConsentCallback | undefined;
  readonly logger: LifecycleLogger;
  readonly dispatcher: Dispatcher | undefined;
}

/** Warnings quote plugin text (names, folder names): escaped so each stays one line on stderr. */
const defaultLogger: LifecycleLogger = {
  warn: (message) => process.emitWarning(escapeControlText(message), { code: "CLAWFT_PLUGIN" }),
};

function positiveInteger(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new LifecycleError("PLUGIN_OPTIONS_INVALID", `${field} must be a positive integer`);
  }
  return value;
}

/** The default data directory: `$CLAWFT_HOME`, else `~/.clawft`. */
export function defaultDataDir(): string {
  const fromEnv = process.env.CLAWFT_HOME;
  return fromEnv && fromEnv.trim() !== "" ? resolve(fromEnv) : join(homedir(), ".clawft");
}

export function resolveManagerOptions(options: PluginManagerOptions = {}): ResolvedManagerOptions {
  if (typeof options !== "object" || options === null) {
    throw new LifecycleError("PLUGIN_OPTIONS_INVALID", "options must be an object");
  }
  let dataDir: string;
  if (options.dataDir === undefined) dataDir = defaultDataDir();
  else if (typeof options.dataDir !== "string" || options.dataDir.trim() === "") {
    throw new LifecycleError("PLUGIN_OPTIONS_INVALID", "dataDir must be a non-empty path");
  } else dataDir = isAbsolute(options.dataDir) ? options.dataDir : resolve(options.dataDir);

  const maxModuleBytes = positiveInteger(options.maxModuleBytes, "maxModuleBytes", SANDBOX_DEFAULTS.moduleBytes);
  const maxModuleGzipBytes = positiveInteger(
    options.maxModuleGzipBytes,
    "maxModuleGzipBytes",
    SANDBOX_DEFAULTS.moduleGzipBytes,
  );
  const maxArchiveBytes = positiveInteger(options.maxArchiveBytes, "maxArchiveBytes", Math.max(8 * MiB, 2 * maxModuleBytes));
  const maxExtractedBytes = positiveInteger(
    options.maxExtractedBytes,
    "maxExtractedBytes",
    Math.max(16 * MiB, 4 * maxModuleBytes),
  );
  const maxArchiveFiles = positiveInteger(options.maxArchiveFiles, "maxArchiveFiles", 256);
  const downloadTimeoutMs = positiveInteger(options.downloadTimeoutMs, "downloadTimeoutMs", 60_000);

  if (options.trustedKeys !== undefined && !Array.isArray(options.trustedKeys)) {
    throw new LifecycleError("PLUGIN_OPTIONS_INVALID", "trustedKeys must be an array of public keys");
  }
  const trustedKeys = (options.trustedKeys ?? []).map((text, i) => {
    if (typeof text !== "string") {
      throw new LifecycleError("PLUGIN_OPTIONS_INVALID", `trustedKeys[${i}] must be a string`);
    }
    try {
      const parsed = parsePublicKey(text);
      return Object.freeze({ id: parsed.id, raw: parsed.raw });
    } catch (error) {
      throw new LifecycleError("PLUGIN_OPTIONS_INVALID", `trustedKeys[${i}] must be an Ed25519 public key`, {
        cause: error,
      });
    }
  });
  if (options.approve !== undefined && typeof options.approve !== "function") {
    throw new LifecycleError("PLUGIN_OPTIONS_INVALID", "approve must be a function");
  }
  if (options.logger !== undefined && (typeof options.logger !== "object" || typeof options.logger?.warn !== "function")) {
    throw new LifecycleError("PLUGIN_OPTIONS_INVALID", "logger must be an object with a warn(message) method");
  }
  return Object.freeze({
    dataDir,
    maxModuleBytes,
    maxModuleGzipBytes,
    maxArchiveBytes,
    maxExtractedBytes,
    maxArchiveFiles,
    downloadTimeoutMs,
    trustedKeys: Object.freeze(trustedKeys),
    approve: options.approve,
    logger: options.logger ?? defaultLogger,
    dispatcher: options.dispatcher,
  });
}
