import { LifecycleError } from "./errors.js";
import { readJsonFile, writeJsonAtomic } from "./fs-util.js";
import { normalizePermissions, permissionsFromJson, type PermissionSet } from "./permissions.js";

/**
 * What an approval is bound to besides the plugin id and version: the exact module (sha256) and
 * who signed it (a key id, or `unsigned`). A stored approval counts only for the same four values.
 */
export interface ApprovalBinding {
  /** sha256 (hex) of the module the user approved. */
  moduleSha256: string;
  /** The id of the key that signed it, or `unsigned`. */
  signer: string;
}

/** One stored approval: what the user granted to one version of one plugin. */
export interface Approval {
  pluginId: string;
  version: string;
  permissions: PermissionSet;
  /** ISO time of the (last) grant. */
  grantedAt: string;
  /** The module sha256 the grant is bound to (absent in records written before binding existed: they count for nothing). */
  moduleSha256?: string;
  /** The signer the grant is bound to (key id or `unsigned`). */
  signer?: string;
}

/** The binding of an installed plugin (its install record's module sha256 and signer). */
export function approvalBindingOf(record: {
  moduleSha256: string;
  signature: { status: string; keyId?: string };
}): ApprovalBinding {
  return {
    moduleSha256: record.moduleSha256,
    signer: record.signature.status === "unsigned" || record.signature.keyId === undefined ? "unsigned" : record.signature.keyId,
  };
}

interface StoredApproval {
  permissions: PermissionSet;
  grantedAt: string;
  moduleSha256?: string;
  signer?: string;
}

interface ApprovalsFile {
  version: 2;
  plugins: Record<string, Record<string, StoredApproval>>;
}

function parseApprovalsFile(value: unknown, path: string): ApprovalsFile {
  const corrupt = (why: string, cause?: unknown) =>
    new LifecycleError("PLUGIN_STATE_CORRUPT", `approvals file ${path}: ${why}`, { cause });
  if (value === undefined) return { version: 2, plugins: {} };
  if (typeof value !== "object" || value === null) throw corrupt("not a JSON object");
  const file = value as Record<string, unknown>;
  // Version 1 records have no binding: they are kept (listed) but never match, so the user is asked again.
  if (file.version !== 1 && file.version !== 2) throw corrupt("unsupported version");
  if (typeof file.plugins !== "object" || file.plugins === null || Array.isArray(file.plugins)) {
    throw corrupt("plugins must be an object");
  }
  const plugins: ApprovalsFile["plugins"] = Object.create(null) as ApprovalsFile["plugins"];
  for (const [id, versions] of Object.entries(file.plugins as Record<string, unknown>)) {
    if (typeof versions !== "object" || versions === null) throw corrupt(`plugins[${id}] must be an object`);
    const byVersion: Record<string, StoredApproval> = Object.create(null) as Record<string, StoredApproval>;
    for (const [version, entry] of Object.entries(versions as Record<string, unknown>)) {
      const e = (entry ?? {}) as Record<string, unknown>;
      try {
        byVersion[version] = {
          permissions: permissionsFromJson(e.permissions, `plugins[${id}][${version}].permissions`),
          grantedAt: typeof e.grantedAt === "string" ? e.grantedAt : "",
          ...(typeof e.moduleSha256 === "string" && /^[0-9a-f]{64}$/.test(e.moduleSha256) ? { moduleSha256: e.moduleSha256 } : {}),
          ...(typeof e.signer === "string" && e.signer !== "" ? { signer: e.signer } : {}),
        };
      } catch (error) {
        throw corrupt((error as Error).message, error);
      }
    }
    plugins[id] = byVersion;
  }
  return { version: 2, plugins };
}

function toApproval(pluginId: string, version: string, entry: StoredApproval): Approval {
  return {
    pluginId,
    version,
    permissions: entry.permissions,
    grantedAt: entry.grantedAt,
    ...(entry.moduleSha256 === undefined ? {} : { moduleSha256: entry.moduleSha256 }),
    ...(entry.signer === undefined ? {} : { signer: entry.signer }),
  };
}

/**
 * The user's approvals, per plugin id and version, in one JSON file in the data directory
 * (`approvals.json`, mode 0600, written atomically). Readable (`get`, `list`) and revocable
 * (`revoke`). A corrupt file is an error, never "no approvals" and never "everything approved".
 */
export class ApprovalStore {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  get path(): string {
    return this.#path;
  }

  async #read(): Promise<ApprovalsFile> {
    return parseApprovalsFile(await readJsonFile(this.#path), this.#path);
  }

  /**
   * The approval of one plugin version, if one is stored for exactly this module and signer.
   * A record bound to another module or signer (another package that had this id@version: an
   * interrupted upgrade, a removed plugin, a different publisher) is ignored, so that package's
   * user is asked again (T73).
   */
  async get(pluginId: string, version: string, binding: ApprovalBinding): Promise<Approval | undefined> {
    const entry = (await this.#read()).plugins[pluginId]?.[version];
    if (!entry || entry.moduleSha256 !== binding.moduleSha256 || entry.signer !== binding.signer) return undefined;
    return toApproval(pluginId, version, entry);
  }

  /** Every stored approval of one plugin (all versions), or of every plugin, with its binding. */
  async list(pluginId?: string): Promise<Approval[]> {
    const file = await this.#read();
    const out: Approval[] = [];
    for (const [id, versions] of Object.entries(file.plugins)) {
      if (pluginId !== undefined && id !== pluginId) continue;
      for (const [version, entry] of Object.entries(versions)) out.push(toApproval(id, version, entry));
    }
    return out;
  }

  /**
   * Records (replaces) the approval of one plugin version, bound to `binding`.
   * The caller holds the data-directory lock.
   */
  async set(pluginId: string, version: string, binding: ApprovalBinding, permissions: PermissionSet): Promise<Approval> {
    const file = await this.#read();
    const grantedAt = new Date().toISOString();
    const byVersion = file.plugins[pluginId] ?? {};
    const entry: StoredApproval = {
      permissions: normalizePermissions(permissions),
      grantedAt,
      moduleSha256: binding.moduleSha256,
      signer: binding.signer,
    };
    byVersion[version] = entry;
    file.plugins[pluginId] = byVersion;
    await writeJsonAtomic(this.#path, file);
    return toApproval(pluginId, version, entry);
  }

  /**
   * Revokes the approvals of a plugin: one version, or every version when `version` is omitted.
   * Returns how many approvals were removed. The caller holds the data-directory lock.
   */
  async revoke(pluginId: string, version?: string): Promise<number> {
    const file = await this.#read();
    const byVersion = file.plugins[pluginId];
    if (!byVersion) return 0;
    let removed = 0;
    if (version === undefined) {
      removed = Object.keys(byVersion).length;
      delete file.plugins[pluginId];
    } else if (byVersion[version]) {
      removed = 1;
      delete byVersion[version];
      if (Object.keys(byVersion).length === 0) delete file.plugins[pluginId];
    }
    if (removed > 0) await writeJsonAtomic(this.#path, file);
    return removed;
  }
}
