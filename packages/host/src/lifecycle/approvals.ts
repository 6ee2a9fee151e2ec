import { LifecycleError } from "./errors.js";
import { readJsonFile, writeJsonAtomic } from "./fs-util.js";
import { normalizePermissions, permissionsFromJson, type PermissionSet } from "./permissions.js";

/** One stored approval: what the user granted to one version of one plugin. */
export interface Approval {
  pluginId: string;
  version: string;
  permissions: PermissionSet;
  /** ISO time of the (last) grant. */
  grantedAt: string;
}

interface ApprovalsFile {
  version: 1;
  plugins: Record<string, Record<string, { permissions: PermissionSet; grantedAt: string }>>;
}

function parseApprovalsFile(value: unknown, path: string): ApprovalsFile {
  const corrupt = (why: string, cause?: unknown) =>
    new LifecycleError("PLUGIN_STATE_CORRUPT", `approvals file ${path}: ${why}`, { cause });
  if (value === undefined) return { version: 1, plugins: {} };
  if (typeof value !== "object" || value === null) throw corrupt("not a JSON object");
  const file = value as Record<string, unknown>;
  if (file.version !== 1) throw corrupt("unsupported version");
  if (typeof file.plugins !== "object" || file.plugins === null || Array.isArray(file.plugins)) {
    throw corrupt("plugins must be an object");
  }
  const plugins: ApprovalsFile["plugins"] = Object.create(null) as ApprovalsFile["plugins"];
  for (const [id, versions] of Object.entries(file.plugins as Record<string, unknown>)) {
    if (typeof versions !== "object" || versions === null) throw corrupt(`plugins[${id}] must be an object`);
    const byVersion: Record<string, { permissions: PermissionSet; grantedAt: string }> = Object.create(null) as Record<
      string,
      { permissions: PermissionSet; grantedAt: string }
    >;
    for (const [version, entry] of Object.entries(versions as Record<string, unknown>)) {
      const e = (entry ?? {}) as Record<string, unknown>;
      try {
        byVersion[version] = {
          permissions: permissionsFromJson(e.permissions, `plugins[${id}][${version}].permissions`),
          grantedAt: typeof e.grantedAt === "string" ? e.grantedAt : "",
        };
      } catch (error) {
        throw corrupt((error as Error).message, error);
      }
    }
    plugins[id] = byVersion;
  }
  return { version: 1, plugins };
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

  /** The approval of one plugin version, if any. */
  async get(pluginId: string, version: string): Promise<Approval | undefined> {
    const entry = (await this.#read()).plugins[pluginId]?.[version];
    return entry && { pluginId, version, permissions: entry.permissions, grantedAt: entry.grantedAt };
  }

  /** Every approval of one plugin (all versions), or of every plugin. */
  async list(pluginId?: string): Promise<Approval[]> {
    const file = await this.#read();
    const out: Approval[] = [];
    for (const [id, versions] of Object.entries(file.plugins)) {
      if (pluginId !== undefined && id !== pluginId) continue;
      for (const [version, entry] of Object.entries(versions)) {
        out.push({ pluginId: id, version, permissions: entry.permissions, grantedAt: entry.grantedAt });
      }
    }
    return out;
  }

  /** Records (replaces) the approval of one plugin version. The caller holds the data-directory lock. */
  async set(pluginId: string, version: string, permissions: PermissionSet): Promise<Approval> {
    const file = await this.#read();
    const grantedAt = new Date().toISOString();
    const byVersion = file.plugins[pluginId] ?? {};
    byVersion[version] = { permissions: normalizePermissions(permissions), grantedAt };
    file.plugins[pluginId] = byVersion;
    await writeJsonAtomic(this.#path, file);
    return { pluginId, version, permissions: normalizePermissions(permissions), grantedAt };
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
