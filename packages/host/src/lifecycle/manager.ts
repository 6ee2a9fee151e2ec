import { channel } from "node:diagnostics_channel";
import { isUtf8 } from "node:buffer";
import { constants as fsConstants } from "node:fs";
import { lstat, mkdir, open, readdir, realpath, rename, stat, unlink } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { debuglog } from "node:util";
import type { PluginManifest } from "@clawft/sandbox-policy";
import { ApprovalStore, approvalBindingOf, type Approval, type ApprovalBinding } from "./approvals.js";
import { readArchive, stripCommonRoot, type ArchiveFiles } from "./archive.js";
import { downloadArchive, redactUrl, type DownloadProgress } from "./download.js";
import { LifecycleError } from "./errors.js";
import { moduleSizeProblem } from "../module-size.js";
import { crashPoint } from "./crash-point.js";
import { sweepLockLeftovers, withDirLock } from "./dir-lock.js";
import {
  ensurePrivateDir,
  isNotFound,
  noSpaceError,
  randomSuffix,
  readJsonFile,
  removeQuietly,
  writeJsonAtomic,
} from "./fs-util.js";
import { checkStateFile, checkStateFolder } from "./state-safety.js";
import { TrustedKeyStore } from "./keys.js";
import {
  compareVersions,
  isValidPluginId,
  MANIFEST_FILE,
  MAX_MANIFEST_BYTES,
  readManifest,
  type ManifestSummary,
} from "./manifest.js";
import {
  resolveManagerOptions,
  type ConsentCallback,
  type ConsentReason,
  type PluginManagerOptions,
  type ResolvedManagerOptions,
} from "./options.js";
import {
  intersectPermissions,
  isEmptyPermissions,
  missingPermissions,
  NO_PERMISSIONS,
  normalizePermissions,
  pluginDataFolder,
  unionPermissions,
  type PermissionSet,
} from "./permissions.js";
import {
  checkSignature,
  signatureVerdict,
  MAX_SIGNATURE_FILE_BYTES,
  sha256Hex,
  SIGNATURE_FILE,
  type SignatureStatus,
} from "./signature.js";

const debug = debuglog("clawft");

/** Lifecycle events (install, upgrade, remove, consent, revoke, verification failures). */
export const LIFECYCLE_CHANNEL = "clawft:lifecycle";
const lifecycleChannel = channel(LIFECYCLE_CHANNEL);

/** One event on the `clawft:lifecycle` diagnostics channel. */
export interface LifecycleEvent {
  type: "install" | "remove" | "consent-granted" | "consent-denied" | "revoke" | "verify-failed";
  pluginId: string;
  version?: string;
  code?: string;
  timestamp: number;
}

function publish(event: Omit<LifecycleEvent, "timestamp">): void {
  if (lifecycleChannel.hasSubscribers) lifecycleChannel.publish({ ...event, timestamp: Date.now() });
}

/** Where an installed plugin came from. */
export type InstallSourceKind = "registry" | "archive" | "folder";

/** The record written next to an installed plugin (`plugins/<id>/install.json`). */
export interface InstalledPlugin {
  id: string;
  name: string;
  version: string;
  description?: string;
  source: { kind: InstallSourceKind; location: string };
  /** The module's path inside the plugin folder. */
  wasmModule: string;
  /** sha256 (hex) of the module, checked at every load. */
  moduleSha256: string;
  /** sha256 (hex) of `clawft.plugin.json`, checked at every load (permissions cannot change after install). */
  manifestSha256: string;
  moduleBytes: number;
  signature: SignatureStatus;
  /** The permissions the manifest asks for. */
  permissions: PermissionSet;
  installedAt: string;
}

/** What {@link PluginManager.install} returns. */
export interface InstallResult {
  plugin: InstalledPlugin;
  /** The version that was replaced, on an upgrade or reinstall. */
  previousVersion?: string;
  /** The permissions the user approved during this install (empty when nothing new was asked). */
  newlyApproved: PermissionSet;
  /** Warnings also sent to the logger (unsigned, untrusted signer). */
  warnings: string[];
}

/** Per-call options of {@link PluginManager.install}. */
export interface InstallOptions {
  /** Overrides the manager's `approve` for this install. */
  approve?: ConsentCallback;
  /** Download progress for URL installs. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Allow replacing an installed version with an older one. @default false */
  allowDowngrade?: boolean;
  /**
   * Allow an upgrade signed by another key (or unsigned) over a version signed by a trusted key.
   * @default false
   */
  allowSignerChange?: boolean;
}

/** A verified installed plugin, ready for `host.load`. */
export interface OpenedPlugin {
  record: InstalledPlugin;
  /** The validated manifest (pass `manifestBytes` or this to `host.load`). */
  manifest: PluginManifest;
  /** The manifest's exact bytes (their sha256 matched the install record). */
  manifestBytes: Buffer;
  /** The entry file's exact bytes (their sha256 matched the install record): the component, or a js plugin's bundled JS (`manifest.runtime === "js"`). */
  wasm: Buffer;
  /** The permissions approved for this version (after any first-run consent). */
  approvals: PermissionSet;
}

interface PackageFiles {
  kind: InstallSourceKind;
  location: string;
  /** Files to write into the plugin folder, relative paths. */
  files: ArchiveFiles;
  manifestBytes: Buffer;
  moduleBytes: Buffer;
  signatureBytes: Buffer | undefined;
  manifest: ManifestSummary;
}

const RECORD_FILE = "install.json";
const PACKAGE_DIR = "package";
/** The state folders inside the data directory; each must be a real, private folder (T70, T75). */
const STATE_FOLDERS = ["tmp", "plugins", "data"] as const;
/** The data directory's own state files, checked before every command whatever it reads (T75). */
const STATE_FILES = ["approvals.json", "trusted-keys.json", "audit.jsonl", "lock"] as const;
/** Names the manager gives its own entries in `tmp/`; the sweep touches nothing else (T70). */
const STAGING_NAME = /^install-[0-9a-f]{16}$/;
const ASIDE_NAME = /^old-[0-9a-f]{16}-(.+)$/;
const REMOVED_NAME = /^removed-(?:data-)?[0-9a-f]{16}$/;
/** A state file being written by `writeFileAtomic` in the data directory. */
const STATE_TEMP_NAME = /^\.[0-9a-f]{16}\.tmp$/;

/** Per-call options of {@link PluginManager.remove}. */
export interface RemoveOptions {
  /** Keep the plugin's data folder (`<dataDir>/data/<id>/`). @default false (deleted) */
  keepData?: boolean;
}

/** What {@link PluginManager.remove} returns. */
export interface RemoveResult {
  id: string;
  version?: string;
  /** Whether the plugin's data folder was deleted (false: there was none, or `keepData`). */
  dataDeleted: boolean;
  /** How many approvals were revoked. */
  approvalsRevoked: number;
}

/** The signer an approval is bound to: the key id, or `unsigned`. */
function signerOf(signature: SignatureStatus): string {
  return signature.status === "unsigned" ? "unsigned" : signature.keyId;
}

/**
 * Installs, verifies, lists and removes plugins in a data directory, and keeps the user's
 * trusted keys and permission approvals there.
 *
 * Data directory layout (all created 0700/0600):
 * ```
 * <dataDir>/plugins/<id>/install.json          the install record (sha256s, signer, source)
 * <dataDir>/plugins/<id>/package/…             the plugin's files (clawft.plugin.json, module, sig)
 * <dataDir>/trusted-keys.json                  trusted Ed25519 keys
 * <dataDir>/approvals.json                     approvals per plugin id and version
 * <dataDir>/audit.jsonl                        the host's audit log (JSON Lines)
 * <dataDir>/tmp/                               staging for installs (same filesystem: atomic rename)
 * <dataDir>/lock                               held during every change
 * ```
 */
export class PluginManager {
  readonly #options: ResolvedManagerOptions;
  readonly keys: TrustedKeyStore;
  readonly approvals: ApprovalStore;

  constructor(options: PluginManagerOptions = {}) {
    this.#options = resolveManagerOptions(options);
    this.keys = new TrustedKeyStore(join(this.#options.dataDir, "trusted-keys.json"), this.#options.trustedKeys);
    this.approvals = new ApprovalStore(join(this.#options.dataDir, "approvals.json"));
  }

  /** The resolved, frozen options. */
  get options(): ResolvedManagerOptions {
    return this.#options;
  }

  get dataDir(): string {
    return this.#options.dataDir;
  }

  /** The JSON Lines audit log that `clawft-plugin audit` reads and the CLI's host writes. */
  get auditLogPath(): string {
    return join(this.#options.dataDir, "audit.jsonl");
  }

  #pluginDir(id: string): string {
    if (!isValidPluginId(id)) throw new LifecycleError("PLUGIN_NOT_FOUND", `plugin not installed: ${JSON.stringify(id)}`);
    return join(this.#options.dataDir, "plugins", id);
  }

  /**
   * Checks the data directory and its state folders (T70, T75): each must be a real folder (not
   * a symlink), owned by this user, not writable by group/others. `create` makes missing ones
   * (0700). Returns false when the data directory does not exist (and was not created).
   */
  async #checkState(create: boolean): Promise<boolean> {
    const root = this.#options.dataDir;
    if (!(await checkStateFolder(root, "data directory", create))) return false;
    for (const name of STATE_FOLDERS) await checkStateFolder(join(root, name), `state folder`, create);
    for (const name of STATE_FILES) await checkStateFile(join(root, name));
    return true;
  }

  /**
   * For read-only commands: checks the state folders and, when `tmp/` holds what a crashed
   * change left (an upgrade interrupted between its two renames leaves `plugins/<id>` missing),
   * takes the lock to recover first, so `list`/`info`/`run` never report a plugin as gone that
   * recovery would put back (T72). Returns false when there is no data directory.
   */
  async #readyToRead(): Promise<boolean> {
    if (!(await this.#checkState(false))) return false;
    const leftovers = await readdir(join(this.#options.dataDir, "tmp")).catch(() => [] as string[]);
    if (leftovers.some((name) => ASIDE_NAME.test(name) || STAGING_NAME.test(name) || REMOVED_NAME.test(name))) {
      await this.#lock(async () => {});
    }
    return true;
  }

  /**
   * Runs `fn` holding the data directory's lock (see `withDirLock` for the protocol), after
   * checking the state folders and recovering from any change a crashed process left half done
   * ({@link #recover}). A full disk anywhere in `fn` becomes `PLUGIN_NO_SPACE`.
   */
  async #lock<T>(fn: () => Promise<T>): Promise<T> {
    try {
      await this.#checkState(true);
      return await withDirLock(this.#options.dataDir, async () => {
        await this.#recover();
        return fn();
      });
    } catch (error) {
      throw noSpaceError(error, "the change was not made") ?? error;
    }
  }

  /**
   * Start-up recovery, under the lock, so anything found here was left by a process that died
   * mid-change. Only entries whose names the manager itself creates are touched, never through
   * a symlink (an entry of the wrong type is left alone) — stops the sweep deleting files it did
   * not create (`--data-dir ~` with the user's own `~/tmp`, T70):
   * - `tmp/old-<random>-<id>`: an installed version moved aside by an upgrade. When
   *   `plugins/<id>` is missing the process died between the two renames: the old version is
   *   put back (rolled back). Otherwise the upgrade completed: it is deleted (T72).
   * - `tmp/install-<random>` (a staging folder never moved in: rolled back),
   *   `tmp/removed-<random>`, `tmp/removed-data-<random>` (a removal that had already taken it
   *   out: completed): deleted.
   * - `<dataDir>/.<random>.tmp` (a state file write cut short) and `.lock-<pid>-<random>.tmp`
   *   of dead processes: deleted. The state file itself is the old or the new complete version.
   */
  async #recover(): Promise<void> {
    const root = this.#options.dataDir;
    const tmpRoot = join(root, "tmp");
    const names = await readdir(tmpRoot).catch(() => [] as string[]);
    for (const name of names) {
      const path = join(tmpRoot, name);
      const info = await lstat(path).catch(() => undefined);
      if (!info?.isDirectory()) continue;
      const aside = ASIDE_NAME.exec(name);
      if (aside && isValidPluginId(aside[1] ?? "")) {
        const target = join(root, "plugins", aside[1] ?? "");
        const present = await lstat(target).then(
          () => true,
          (error: unknown) => (isNotFound(error) ? false : Promise.reject(error)),
        );
        if (!present) {
          await rename(path, target);
          debug("recovery: restored %s from an interrupted upgrade", aside[1]);
          this.#options.logger.warn(`plugin ${aside[1]}: an interrupted upgrade was rolled back to the installed version`);
        } else {
          await removeQuietly(path);
        }
      } else if (STAGING_NAME.test(name) || REMOVED_NAME.test(name)) {
        await removeQuietly(path);
      }
    }
    const top = await readdir(root).catch(() => [] as string[]);
    for (const name of top) {
      if (!STATE_TEMP_NAME.test(name)) continue;
      const info = await lstat(join(root, name)).catch(() => undefined);
      if (info?.isFile()) await unlink(join(root, name)).catch(() => {});
    }
    await sweepLockLeftovers(root);
  }

  // ---------------------------------------------------------------- install

  /**
   * Installs (or upgrades) a plugin from a local folder (manifest + module), a local `.tgz`/`.tar`
   * archive, or an `http(s)://` URL of an archive (a "registry" install).
   *
   * Order of checks, all before anything is written to `plugins/`: archive safety and limits,
   * manifest, module size (T36), signature (registry: a valid signature by a trusted key is
   * required, T37; local: missing → warning, T38), downgrade, consent for the permissions not
   * yet approved (an upgrade asks for the new ones only, T41). The files are then written to a
   * fresh staging folder inside the data directory and renamed into place, so any failure leaves
   * the previous state untouched (no partial install).
   */
  async install(source: string | URL, options: InstallOptions = {}): Promise<InstallResult> {
    const pkg = await this.#acquire(source, options);
    const { manifest } = pkg;
    const warnings: string[] = [];
    this.#checkModuleSize(pkg.moduleBytes);
    if (manifest.runtime === "js") {
      // What runs must be exactly what was signed: JS that is not UTF-8 is refused, never repaired.
      if (!isUtf8(pkg.moduleBytes)) {
        throw new LifecycleError("PLUGIN_INVALID_MANIFEST", `invalid plugin manifest: main ${manifest.wasmModule} is not UTF-8 text`);
      }
    } else if (pkg.moduleBytes.length < 8 || pkg.moduleBytes.readUInt32BE(0) !== 0x0061736d) {
      throw new LifecycleError("PLUGIN_INVALID_MANIFEST", `invalid plugin manifest: wasm_module ${manifest.wasmModule} is not a WebAssembly binary`);
    }

    // Only keys whose scope covers this id count (T76).
    const signature = checkSignature(
      pkg.signatureBytes,
      pkg.manifestBytes,
      pkg.moduleBytes,
      await this.keys.trustedFor(manifest.id),
    );
    const verdict = signatureVerdict(
      signature,
      pkg.kind,
      manifest,
      signature.status === "untrusted" ? await this.#scopeNote(signature.keyId) : "",
    );
    if (verdict.refused) {
      this.#failed(manifest, verdict.refused.code);
      throw verdict.refused;
    }
    if (verdict.warning) warnings.push(verdict.warning);
    for (const w of manifest.warnings) warnings.push(`manifest of ${manifest.id}: ${w}`);
    for (const w of warnings) this.#options.logger.warn(w);

    return this.#lock(async () => {
      const previous = await this.#readRecordOrUndefined(manifest.id);
      if (
        previous &&
        !options.allowDowngrade &&
        compareVersions(manifest.version, previous.version) < 0
      ) {
        throw new LifecycleError(
          "PLUGIN_DOWNGRADE_REFUSED",
          `downgrade refused: ${manifest.id} ${previous.version} is installed and ${manifest.version} is older (allow it explicitly)`,
        );
      }

      // Signer pinning: a trusted key is trusted for any plugin id, so without this one trusted
      // publisher could ship an "upgrade" of another publisher's plugin. The installed version's
      // signer must sign its upgrades (trust on first install), unless explicitly allowed.
      if (
        previous?.signature.status === "trusted" &&
        !options.allowSignerChange &&
        (signature.status === "unsigned" || signature.keyId !== previous.signature.keyId)
      ) {
        throw new LifecycleError(
          "PLUGIN_SIGNATURE_UNTRUSTED",
          `signer change refused: ${manifest.id} ${previous.version} was signed by key ${previous.signature.keyId.slice(0, 16)}, and ${manifest.version} is ${
            signature.status === "unsigned" ? "not signed" : `signed by key ${signature.keyId.slice(0, 16)}`
          } (allow it explicitly)`,
        );
      }

      // Consent: ask only for what neither this package nor the installed one has been granted.
      // Approvals are bound to id, version, module sha256 and signer (T73): an approval left by
      // another package with this id@version (an interrupted upgrade, a removed plugin) is ignored,
      // and an installed version's approvals carry over only to an upgrade by the same signer.
      const binding: ApprovalBinding = { moduleSha256: sha256Hex(pkg.moduleBytes), signer: signerOf(signature) };
      const carried =
        previous && signerOf(previous.signature) === binding.signer
          ? (await this.approvals.get(manifest.id, previous.version, approvalBindingOf(previous)))?.permissions
          : undefined;
      const granted = unionPermissions(
        (await this.approvals.get(manifest.id, manifest.version, binding))?.permissions ?? NO_PERMISSIONS,
        carried ?? NO_PERMISSIONS,
      );
      const reason: ConsentReason = previous ? "upgrade" : "install";
      const newlyApproved = await this.#askConsent(manifest, granted, reason, options.approve, previous?.version);

      const record: InstalledPlugin = {
        id: manifest.id,
        name: manifest.name,
        version: manifest.version,
        ...(manifest.description === undefined ? {} : { description: manifest.description }),
        source: { kind: pkg.kind, location: pkg.location },
        wasmModule: manifest.wasmModule,
        moduleSha256: sha256Hex(pkg.moduleBytes),
        manifestSha256: sha256Hex(pkg.manifestBytes),
        moduleBytes: pkg.moduleBytes.length,
        signature,
        permissions: manifest.permissions,
        installedAt: new Date().toISOString(),
      };
      await this.#commit(manifest.id, pkg.files, record);
      crashPoint("upgrade-before-approval");
      if (!isEmptyPermissions(manifest.permissions)) {
        await this.approvals.set(manifest.id, manifest.version, approvalBindingOf(record), manifest.permissions);
      }
      debug("installed %s@%s from %s", manifest.id, manifest.version, pkg.kind);
      publish({ type: "install", pluginId: manifest.id, version: manifest.version });
      return {
        plugin: record,
        ...(previous ? { previousVersion: previous.version } : {}),
        newlyApproved,
        warnings,
      };
    });
  }

  /**
   * Asks for the permissions of `manifest` not covered by `granted`; returns what was newly
   * approved, or throws `PLUGIN_CONSENT_DENIED`. No callback means refusal (deny by default).
   */
  async #askConsent(
    manifest: ManifestSummary,
    granted: PermissionSet,
    reason: ConsentReason,
    approveOverride: ConsentCallback | undefined,
    previousVersion?: string,
  ): Promise<PermissionSet> {
    const wanted = missingPermissions(granted, manifest.permissions);
    if (isEmptyPermissions(wanted)) return normalizePermissions({ ...NO_PERMISSIONS });
    const approve = approveOverride ?? this.#options.approve;
    const request = {
      pluginId: manifest.id,
      version: manifest.version,
      permissions: wanted,
      name: manifest.name,
      ...(manifest.description === undefined ? {} : { description: manifest.description }),
      reason,
      alreadyApproved: intersectPermissions(granted, manifest.permissions),
      ...(previousVersion === undefined ? {} : { previousVersion }),
      dataFolder: pluginDataFolder(this.#options.dataDir, manifest.id),
    };
    let ok = false;
    if (approve) {
      try {
        ok = (await approve(request)) === true;
      } catch (error) {
        throw new LifecycleError("PLUGIN_CONSENT_DENIED", `consent denied: the approval prompt failed for ${manifest.id}`, {
          cause: error,
        });
      }
    }
    if (!ok) {
      publish({ type: "consent-denied", pluginId: manifest.id, version: manifest.version, code: "PLUGIN_CONSENT_DENIED" });
      throw new LifecycleError(
        "PLUGIN_CONSENT_DENIED",
        `consent denied: ${manifest.id}@${manifest.version} asks for permissions that were not approved${approve ? "" : " (no approval callback was given)"}`,
      );
    }
    publish({ type: "consent-granted", pluginId: manifest.id, version: manifest.version });
    return wanted;
  }

  /** ", which is trusted only for …" when `keyId` is a trusted key whose scope excludes this plugin (T76). */
  async #scopeNote(keyId: string): Promise<string> {
    const key = (await this.keys.list()).find((k) => k.id === keyId);
    return key?.scope ? ` for this plugin id (key ${keyId.slice(0, 16)} is trusted only for ${key.scope.join(", ")})` : "";
  }

  #failed(manifest: ManifestSummary, code: string): void {
    publish({ type: "verify-failed", pluginId: manifest.id, version: manifest.version, code });
  }

  /** T36: the module must fit the uncompressed and the gzipped limit (the same check as `host.load`). */
  #checkModuleSize(module: Buffer): void {
    const tooLarge = moduleSizeProblem(module, this.#options);
    if (tooLarge) throw new LifecycleError("PLUGIN_TOO_LARGE", tooLarge);
  }

  async #acquire(source: string | URL, options: InstallOptions): Promise<PackageFiles> {
    const asUrl = source instanceof URL ? source : /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(source) ? safeUrl(source) : undefined;
    if (asUrl) {
      const data = await downloadArchive(asUrl, {
        maxBytes: this.#options.maxArchiveBytes,
        timeoutMs: this.#options.downloadTimeoutMs,
        ...(this.#options.dispatcher ? { dispatcher: this.#options.dispatcher } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      return this.#fromArchive(data, "registry", redactUrl(asUrl));
    }
    if (typeof source !== "string" || source === "") {
      throw new LifecycleError("PLUGIN_SOURCE_INVALID", "install source must be a folder, an archive path or a URL");
    }
    let info;
    try {
      info = await stat(source);
    } catch (error) {
      throw new LifecycleError("PLUGIN_SOURCE_INVALID", `install source not found: ${source}`, { cause: error });
    }
    if (info.isDirectory()) return this.#fromFolder(source);
    if (!info.isFile()) throw new LifecycleError("PLUGIN_SOURCE_INVALID", `install source is not a folder or a file: ${source}`);
    if (info.size > this.#options.maxArchiveBytes) {
      throw new LifecycleError(
        "PLUGIN_ARCHIVE_TOO_LARGE",
        `plugin archive too large: ${info.size} bytes (limit ${this.#options.maxArchiveBytes})`,
      );
    }
    // The operator named this path: a symlink to an archive is fine.
    const read = await readCapped(source, this.#options.maxArchiveBytes, true);
    if (read.kind !== "ok") {
      throw new LifecycleError(
        read.kind === "missing" ? "PLUGIN_SOURCE_INVALID" : "PLUGIN_ARCHIVE_TOO_LARGE",
        read.kind === "missing"
          ? `install source not found: ${source}`
          : `plugin archive too large: ${read.size} bytes (limit ${this.#options.maxArchiveBytes})`,
      );
    }
    return this.#fromArchive(read.data, "archive", source);
  }

  async #fromArchive(data: Buffer, kind: InstallSourceKind, location: string): Promise<PackageFiles> {
    const files = stripCommonRoot(
      await readArchive(data, {
        maxArchiveBytes: this.#options.maxArchiveBytes,
        maxExtractedBytes: this.#options.maxExtractedBytes,
        maxFiles: this.#options.maxArchiveFiles,
      }),
      MANIFEST_FILE,
    );
    const manifestBytes = files.get(MANIFEST_FILE);
    if (!manifestBytes) {
      throw new LifecycleError("PLUGIN_INVALID_MANIFEST", `invalid plugin manifest: the archive has no ${MANIFEST_FILE} at its root`);
    }
    const manifest = readManifest(manifestBytes);
    const moduleBytes = files.get(manifest.wasmModule);
    if (!moduleBytes) {
      throw new LifecycleError(
        "PLUGIN_INVALID_MANIFEST",
        `invalid plugin manifest: ${manifest.entryField} ${manifest.wasmModule} is not in the archive`,
      );
    }
    return { kind, location, files, manifestBytes, moduleBytes, signatureBytes: files.get(SIGNATURE_FILE), manifest };
  }

  /**
   * Reads a plugin folder: only the manifest, the module it names and the signature are taken.
   * The module must be a regular file whose real path is inside the folder (a symlink pointing
   * elsewhere is refused, so a folder cannot smuggle in e.g. a file from another project).
   */
  async #fromFolder(folder: string): Promise<PackageFiles> {
    const root = await realpath(folder);
    const readInside = async (rel: string, maxBytes: number, what: string): Promise<Capped> => {
      const path = join(root, ...rel.split("/"));
      let real: string;
      try {
        real = await realpath(path);
      } catch (error) {
        if (isNotFound(error)) return { kind: "missing" };
        throw error;
      }
      const fromRoot = relative(root, real);
      if (fromRoot === "" || fromRoot === ".." || fromRoot.startsWith(`..${sep}`) || isAbsolute(fromRoot)) {
        throw new LifecycleError("PLUGIN_SOURCE_INVALID", `${what} resolves outside the plugin folder: ${rel}`);
      }
      const info = await lstat(real);
      if (!info.isFile()) throw new LifecycleError("PLUGIN_SOURCE_INVALID", `${what} is not a regular file: ${rel}`);
      return readCapped(real, maxBytes);
    };
    const manifestRead = await readInside(MANIFEST_FILE, MAX_MANIFEST_BYTES, "the manifest");
    if (manifestRead.kind !== "ok") {
      throw new LifecycleError(
        "PLUGIN_INVALID_MANIFEST",
        manifestRead.kind === "missing"
          ? `invalid plugin manifest: no ${MANIFEST_FILE} in ${folder}`
          : `invalid plugin manifest: ${MANIFEST_FILE} is larger than ${MAX_MANIFEST_BYTES} bytes`,
      );
    }
    const manifestBytes = manifestRead.data;
    const manifest = readManifest(manifestBytes);
    const moduleRead = await readInside(manifest.wasmModule, this.#options.maxModuleBytes, manifest.entryField);
    if (moduleRead.kind === "missing") {
      throw new LifecycleError("PLUGIN_INVALID_MANIFEST", `invalid plugin manifest: ${manifest.entryField} ${manifest.wasmModule} not found in ${folder}`);
    }
    if (moduleRead.kind === "too-large") {
      throw new LifecycleError(
        "PLUGIN_TOO_LARGE",
        `module too large: ${moduleRead.size} bytes uncompressed (limit ${this.#options.maxModuleBytes})`,
      );
    }
    const moduleBytes = moduleRead.data;
    const signatureRead = await readInside(SIGNATURE_FILE, MAX_SIGNATURE_FILE_BYTES, "the signature");
    if (signatureRead.kind === "too-large") {
      throw new LifecycleError("PLUGIN_SIGNATURE_INVALID", `invalid plugin signature: ${SIGNATURE_FILE} is too large`);
    }
    const signatureBytes = cappedData(signatureRead);
    const files: ArchiveFiles = new Map([
      [MANIFEST_FILE, manifestBytes],
      [manifest.wasmModule, moduleBytes],
    ]);
    if (signatureBytes) files.set(SIGNATURE_FILE, signatureBytes);
    return { kind: "folder", location: root, files, manifestBytes, moduleBytes, signatureBytes, manifest };
  }

  /**
   * Writes the plugin into `tmp/install-<random>/` and renames it to `plugins/<id>/`; an installed
   * version is moved aside first (`tmp/old-<random>-<id>`) and restored if the rename fails, then
   * deleted. Stops partial installs: `plugins/<id>` is always either the old or the new complete
   * folder, or (after a crash between the two renames) missing with the old one aside, which
   * {@link #recover} puts back before anything else runs (T72).
   * Files are created with `wx` in folders this call just made, so no pre-existing file or link is
   * ever written through.
   */
  async #commit(id: string, files: ArchiveFiles, record: InstalledPlugin): Promise<void> {
    const tmpRoot = join(this.#options.dataDir, "tmp");
    const pluginsRoot = join(this.#options.dataDir, "plugins");
    await ensurePrivateDir(tmpRoot);
    await ensurePrivateDir(pluginsRoot);
    const staging = join(tmpRoot, `install-${randomSuffix()}`);
    await mkdir(staging, { mode: 0o700 });
    try {
      const pkgDir = join(staging, PACKAGE_DIR);
      await mkdir(pkgDir, { mode: 0o700 });
      for (const [rel, data] of files) {
        const target = join(pkgDir, ...rel.split("/"));
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        const handle = await open(target, "wx", 0o600);
        try {
          await handle.writeFile(data);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await writeJsonAtomic(join(staging, RECORD_FILE), record);
      crashPoint("upgrade-staged");
      const target = this.#pluginDir(id);
      let aside: string | undefined;
      try {
        await lstat(target);
        // The id in the name lets recovery put it back without reading anything inside it.
        aside = join(tmpRoot, `old-${randomSuffix()}-${id}`);
        await rename(target, aside);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      crashPoint("upgrade-after-aside");
      try {
        await rename(staging, target);
      } catch (error) {
        if (aside) await rename(aside, target).catch(() => {});
        throw error;
      }
      crashPoint("upgrade-after-swap");
      if (aside) await removeQuietly(aside);
    } catch (error) {
      await removeQuietly(staging);
      throw error;
    }
  }

  // ---------------------------------------------------------------- queries

  async #readRecordOrUndefined(id: string): Promise<InstalledPlugin | undefined> {
    const dir = this.#pluginDir(id);
    if (!(await this.#checkState(false))) return undefined;
    const value = await readJsonFile(join(dir, RECORD_FILE));
    if (value === undefined) return undefined;
    return parseRecord(value, id);
  }

  /** The install record of a plugin, or `PLUGIN_NOT_FOUND`. */
  async info(id: string): Promise<InstalledPlugin> {
    this.#pluginDir(id);
    await this.#readyToRead();
    const record = await this.#readRecordOrUndefined(id);
    if (!record) throw new LifecycleError("PLUGIN_NOT_FOUND", `plugin not installed: ${id}`);
    return record;
  }

  /** Every installed plugin, sorted by id. */
  async list(): Promise<InstalledPlugin[]> {
    if (!(await this.#readyToRead())) return [];
    let names: string[];
    try {
      names = await readdir(join(this.#options.dataDir, "plugins"));
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const out: InstalledPlugin[] = [];
    for (const name of names.sort()) {
      if (!isValidPluginId(name)) continue;
      try {
        const record = await this.#readRecordOrUndefined(name);
        if (record) out.push(record);
      } catch (error) {
        // One damaged record must not hide the other plugins; it is reported, and `remove` still works.
        if (!LifecycleError.isInstance(error)) throw error;
        this.#options.logger.warn(`plugin ${name}: ${error.message} (remove or reinstall it)`);
      }
    }
    return out;
  }

  /** The approvals of a plugin (every version), newest grant first. */
  async permissions(id: string): Promise<Approval[]> {
    if (!(await this.#readyToRead())) return [];
    const list = await this.approvals.list(id);
    return list.sort((a, b) => b.grantedAt.localeCompare(a.grantedAt));
  }

  /** Revokes a plugin's approvals (one version or all); its next run asks again. Returns how many were removed. */
  async revoke(id: string, version?: string): Promise<number> {
    const removed = await this.#lock(() => this.approvals.revoke(id, version));
    publish({ type: "revoke", pluginId: id, ...(version === undefined ? {} : { version }) });
    return removed;
  }

  /**
   * Uninstalls a plugin, revokes every approval of its id and deletes its data folder
   * (`<dataDir>/data/<id>/`, unless `keepData`). Stops the next package installed under the same
   * id (by any publisher) reading the old plugin's files or inheriting its grants (T71).
   * Order: approvals, then data, then the package, so a crash at any point leaves at worst an
   * installed plugin that asks again, and `remove` can simply be run again. An id with no
   * installed plugin but a data folder left by `keepData` has that folder deleted.
   */
  async remove(id: string, options: RemoveOptions = {}): Promise<RemoveResult> {
    return this.#lock(async () => {
      const target = this.#pluginDir(id);
      const dataDir = join(this.#options.dataDir, "data", id);
      const exists = (path: string) =>
        lstat(path).then(
          () => true,
          (error: unknown) => (isNotFound(error) ? false : Promise.reject(error)),
        );
      const installed = await exists(target);
      const hasData = !options.keepData && (await exists(dataDir));
      if (!installed && !hasData) throw new LifecycleError("PLUGIN_NOT_FOUND", `plugin not installed: ${id}`);
      // A damaged install record must not make a plugin impossible to remove.
      let version: string | undefined;
      try {
        version = installed ? (await this.#readRecordOrUndefined(id))?.version : undefined;
      } catch (error) {
        if (!LifecycleError.isInstance(error) || error.code !== "PLUGIN_STATE_CORRUPT") throw error;
      }
      const tmpRoot = join(this.#options.dataDir, "tmp");
      const approvalsRevoked = await this.approvals.revoke(id);
      crashPoint("remove-after-revoke");
      const asides: string[] = [];
      if (hasData) {
        const aside = join(tmpRoot, `removed-data-${randomSuffix()}`);
        await rename(dataDir, aside);
        asides.push(aside);
      }
      crashPoint("remove-after-data");
      if (installed) {
        const aside = join(tmpRoot, `removed-${randomSuffix()}`);
        await rename(target, aside);
        asides.push(aside);
      }
      crashPoint("remove-after-aside");
      for (const aside of asides) await removeQuietly(aside);
      publish({ type: "remove", pluginId: id, ...(version === undefined ? {} : { version }) });
      return { id, ...(version === undefined ? {} : { version }), dataDeleted: hasData, approvalsRevoked };
    });
  }

  /**
   * Adds a trusted signing key (PEM, base64 of 32 bytes, or 64 hex digits), optionally scoped to
   * plugin id patterns (`com.example.*`, an exact id, or `*`): it then verifies only plugins whose
   * id matches (T76).
   */
  async addKey(publicKey: string, name?: string, options: { scope?: readonly string[] } = {}) {
    return this.#lock(() => this.keys.add(publicKey, name, options.scope));
  }

  /** Removes a trusted key from the keys file, by id (or a unique prefix of at least 8 hex digits). */
  async removeKey(idPrefix: string) {
    return this.#lock(() => this.keys.remove(idPrefix));
  }

  /** Lists the trusted keys. */
  async listKeys() {
    await this.#checkState(false);
    return this.keys.list();
  }

  // ---------------------------------------------------------------- load

  /**
   * Reads an installed plugin for loading: its manifest and module bytes are read once, their
   * sha256 compared with the install record (`PLUGIN_INTEGRITY_MISMATCH` if either changed), a
   * registry plugin's signer must still be trusted (removing a key stops its plugins), and the
   * user is asked for any permission not approved for this version (first run after an install
   * without consent, or after `revoke`; T40). Pass the result's bytes to `host.load`: what was
   * hashed is exactly what runs (no time-of-check/time-of-use gap).
   */
  async open(id: string, options: { approve?: ConsentCallback } = {}): Promise<OpenedPlugin> {
    const record = await this.info(id);
    const pkgDir = join(this.#pluginDir(id), PACKAGE_DIR);
    const mismatch = (what: string) => {
      publish({ type: "verify-failed", pluginId: id, version: record.version, code: "PLUGIN_INTEGRITY_MISMATCH" });
      return new LifecycleError(
        "PLUGIN_INTEGRITY_MISMATCH",
        `integrity check failed: ${what} of ${id} changed since it was installed (sha256 mismatch); reinstall it`,
      );
    };
    // A symlink, FIFO or device put in place of an installed file is a changed file.
    const readPinned = async (rel: string, maxBytes: number): Promise<Buffer | undefined> => {
      try {
        return cappedData(await readCapped(join(pkgDir, ...rel.split("/")), maxBytes));
      } catch (error) {
        if (LifecycleError.isInstance(error)) throw mismatch(rel);
        throw error;
      }
    };
    const manifestBytes = await readPinned(MANIFEST_FILE, MAX_MANIFEST_BYTES);
    const wasm = await readPinned(record.wasmModule, Math.max(this.#options.maxModuleBytes, record.moduleBytes));
    if (!manifestBytes || sha256Hex(manifestBytes) !== record.manifestSha256) throw mismatch(MANIFEST_FILE);
    if (!wasm || sha256Hex(wasm) !== record.moduleSha256) throw mismatch(record.wasmModule);
    const manifest = readManifest(manifestBytes);
    if (record.source.kind === "registry") {
      const sig = await readPinned(SIGNATURE_FILE, MAX_SIGNATURE_FILE_BYTES + 1);
      const status = checkSignature(sig, manifestBytes, wasm, await this.keys.trustedFor(id));
      if (status.status !== "trusted") {
        publish({ type: "verify-failed", pluginId: id, version: record.version, code: "PLUGIN_SIGNATURE_UNTRUSTED" });
        throw new LifecycleError(
          "PLUGIN_SIGNATURE_UNTRUSTED",
          `untrusted signer refused: the key that signed ${id} is no longer trusted`,
        );
      }
    }
    const approvals = await this.#ensureConsent(manifest, approvalBindingOf(record), options.approve);
    return { record, manifest: manifest.raw, manifestBytes, wasm, approvals };
  }

  /**
   * Makes sure every permission `manifest` asks for is approved for its version, asking for the
   * missing ones (reason `first-run`) and storing the grant. Returns the approved set.
   */
  async #ensureConsent(manifest: ManifestSummary, binding: ApprovalBinding, approve?: ConsentCallback): Promise<PermissionSet> {
    const stored = (await this.approvals.get(manifest.id, manifest.version, binding))?.permissions ?? NO_PERMISSIONS;
    if (isEmptyPermissions(missingPermissions(stored, manifest.permissions))) return stored;
    return this.#lock(async () => {
      const current = (await this.approvals.get(manifest.id, manifest.version, binding))?.permissions ?? NO_PERMISSIONS;
      await this.#askConsent(manifest, current, "first-run", approve);
      const all = unionPermissions(current, manifest.permissions);
      await this.approvals.set(manifest.id, manifest.version, binding, all);
      return all;
    });
  }
}

function safeUrl(text: string): URL {
  try {
    return new URL(text);
  } catch (error) {
    throw new LifecycleError("PLUGIN_SOURCE_INVALID", "install source is not a valid URL", { cause: error });
  }
}

type Capped = { kind: "ok"; data: Buffer } | { kind: "missing" } | { kind: "too-large"; size: number };

/**
 * Reads a regular file of at most `maxBytes`, checking the opened descriptor (not the path):
 * its type (a FIFO or device is refused; `O_NONBLOCK` so opening a FIFO cannot hang) and its
 * size before reading (a huge file cannot exhaust memory), and the bytes actually read (nor can
 * a growing one). With `followLinks: false` a symlink at the last component is refused (`O_NOFOLLOW`).
 */
async function readCapped(path: string, maxBytes: number, followLinks = false): Promise<Capped> {
  let handle;
  try {
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | (followLinks ? 0 : fsConstants.O_NOFOLLOW));
  } catch (error) {
    if (isNotFound(error)) return { kind: "missing" };
    if ((error as { code?: unknown }).code === "ELOOP") {
      throw new LifecycleError("PLUGIN_SOURCE_INVALID", `refusing to follow a symlink: ${path}`, { cause: error });
    }
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new LifecycleError("PLUGIN_SOURCE_INVALID", `not a regular file: ${path}`);
    if (info.size > maxBytes) return { kind: "too-large", size: info.size };
    const data = await handle.readFile();
    return data.length > maxBytes ? { kind: "too-large", size: data.length } : { kind: "ok", data };
  } finally {
    await handle.close();
  }
}

function cappedData(result: Capped): Buffer | undefined {
  return result.kind === "ok" ? result.data : undefined;
}

function parseRecord(value: unknown, id: string): InstalledPlugin {
  const corrupt = () => new LifecycleError("PLUGIN_STATE_CORRUPT", `install record of ${id} is corrupt`);
  if (typeof value !== "object" || value === null) throw corrupt();
  const r = value as Record<string, unknown>;
  const str = (k: string) => {
    if (typeof r[k] !== "string") throw corrupt();
    return r[k];
  };
  if (str("id") !== id) throw corrupt();
  str("name");
  str("version");
  str("wasmModule");
  if (!/^[0-9a-f]{64}$/.test(str("moduleSha256")) || !/^[0-9a-f]{64}$/.test(str("manifestSha256"))) throw corrupt();
  if (typeof r.source !== "object" || r.source === null || typeof r.signature !== "object" || r.signature === null) {
    throw corrupt();
  }
  return r as unknown as InstalledPlugin;
}
