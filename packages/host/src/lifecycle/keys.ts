import { LifecycleError } from "./errors.js";
import { readJsonFile, writeJsonAtomic } from "./fs-util.js";
import { isValidPluginId } from "./manifest.js";
import { parsePublicKey, type TrustedKey } from "./signature.js";

/** One trusted signing key as listed by {@link TrustedKeyStore.list}. */
export interface TrustedKeyInfo {
  /** sha256 hex of the raw 32-byte key. */
  id: string;
  /** base64 of the raw 32-byte Ed25519 public key. */
  publicKey: string;
  name?: string;
  /** ISO time it was added; absent for keys given in options. */
  addedAt?: string;
  /** `file` (the data directory's keys file) or `options` (given to the PluginManager). */
  source: "file" | "options";
  /** Plugin id patterns this key may verify (absent: every id). */
  scope?: string[];
}

/**
 * Validates a key scope pattern: `*` (every id), an exact plugin id, or an id prefix ending in
 * `.*` (`com.example.*`: every id that starts with `com.example.`). Returns it unchanged or throws
 * `PLUGIN_KEY_INVALID` naming it.
 */
export function parseKeyScope(pattern: string): string {
  const base = pattern.endsWith(".*") ? pattern.slice(0, -2) : pattern;
  if (pattern === "*" || (base !== "" && isValidPluginId(base) && !base.includes("*"))) return pattern;
  throw new LifecycleError(
    "PLUGIN_KEY_INVALID",
    `invalid key scope ${JSON.stringify(pattern)}: use a plugin id, an id prefix ending in ".*" (com.example.*) or "*"`,
  );
}

/** Whether a plugin id is inside a key's scope (no scope: every id). */
export function keyScopeMatches(scope: readonly string[] | undefined, pluginId: string): boolean {
  if (scope === undefined) return true;
  return scope.some((pattern) =>
    pattern === "*" ? true : pattern.endsWith(".*") ? pluginId.startsWith(pattern.slice(0, -1)) : pluginId === pattern,
  );
}

interface KeysFile {
  version: 1;
  keys: { id: string; publicKey: string; name?: string; addedAt: string; scope?: string[] }[];
}

function parseKeysFile(value: unknown, path: string): KeysFile {
  const corrupt = (why: string) => new LifecycleError("PLUGIN_STATE_CORRUPT", `trusted keys file ${path}: ${why}`);
  if (value === undefined) return { version: 1, keys: [] };
  if (typeof value !== "object" || value === null) throw corrupt("not a JSON object");
  const file = value as Record<string, unknown>;
  if (file.version !== 1) throw corrupt("unsupported version");
  if (!Array.isArray(file.keys)) throw corrupt("keys must be an array");
  const keys: KeysFile["keys"] = [];
  for (const [i, entry] of (file.keys as unknown[]).entries()) {
    if (typeof entry !== "object" || entry === null) throw corrupt(`keys[${i}] must be an object`);
    const k = entry as Record<string, unknown>;
    if (typeof k.publicKey !== "string") throw corrupt(`keys[${i}].publicKey must be a string`);
    let parsed;
    try {
      parsed = parsePublicKey(k.publicKey);
    } catch (error) {
      throw new LifecycleError("PLUGIN_STATE_CORRUPT", `trusted keys file ${path}: keys[${i}] is not an Ed25519 key`, {
        cause: error,
      });
    }
    let scope: string[] | undefined;
    if (k.scope !== undefined) {
      if (!Array.isArray(k.scope) || k.scope.length === 0) throw corrupt(`keys[${i}].scope must be a non-empty array`);
      try {
        scope = (k.scope as unknown[]).map((p) => parseKeyScope(String(p)));
      } catch (error) {
        throw new LifecycleError("PLUGIN_STATE_CORRUPT", `trusted keys file ${path}: keys[${i}].scope: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    // The id is recomputed from the key: an edited id can never make another key trusted.
    keys.push({
      id: parsed.id,
      publicKey: parsed.raw,
      ...(typeof k.name === "string" ? { name: k.name } : {}),
      addedAt: typeof k.addedAt === "string" ? k.addedAt : "",
      ...(scope === undefined ? {} : { scope }),
    });
  }
  return { version: 1, keys };
}

/**
 * The trusted Ed25519 signing keys: a JSON file in the data directory (written atomically,
 * mode 0600) plus any keys given in the options (read-only). Only a signature by one of these
 * keys makes a registry install acceptable.
 */
export class TrustedKeyStore {
  readonly #path: string;
  readonly #fromOptions: readonly TrustedKey[];

  constructor(path: string, fromOptions: readonly TrustedKey[] = []) {
    this.#path = path;
    this.#fromOptions = fromOptions;
  }

  get path(): string {
    return this.#path;
  }

  async #read(): Promise<KeysFile> {
    return parseKeysFile(await readJsonFile(this.#path), this.#path);
  }

  /** Every trusted key: the keys file's first, then the options' (deduplicated by id). */
  async list(): Promise<TrustedKeyInfo[]> {
    const file = await this.#read();
    const out: TrustedKeyInfo[] = file.keys.map((k) => ({
      id: k.id,
      publicKey: k.publicKey,
      ...(k.name === undefined ? {} : { name: k.name }),
      ...(k.addedAt ? { addedAt: k.addedAt } : {}),
      source: "file" as const,
      ...(k.scope === undefined ? {} : { scope: [...k.scope] }),
    }));
    for (const k of this.#fromOptions) {
      if (out.some((o) => o.id === k.id)) continue;
      out.push({ id: k.id, publicKey: k.raw, ...(k.name === undefined ? {} : { name: k.name }), source: "options" });
    }
    return out;
  }

  /** Every trusted key, in the form signature checks take, whatever its scope. */
  async trusted(): Promise<TrustedKey[]> {
    return (await this.list()).map((k) => ({ id: k.id, raw: k.publicKey, ...(k.name === undefined ? {} : { name: k.name }) }));
  }

  /**
   * The keys that may verify the plugin `pluginId`: those without a scope and those whose scope
   * matches it (T76). Stops a publisher trusted for its own plugins (`com.example.*`) from
   * signing a plugin under anyone else's id.
   */
  async trustedFor(pluginId: string): Promise<TrustedKey[]> {
    return (await this.list())
      .filter((k) => keyScopeMatches(k.scope, pluginId))
      .map((k) => ({ id: k.id, raw: k.publicKey, ...(k.name === undefined ? {} : { name: k.name }) }));
  }

  /**
   * Adds a key (PEM, base64 of 32 bytes, or 64 hex digits) to the keys file, optionally scoped
   * to plugin id patterns ({@link parseKeyScope}). Adding a key that is already there replaces
   * its name and scope. Returns the stored entry. The caller holds the data-directory lock.
   */
  async add(publicKey: string, name?: string, scope?: readonly string[]): Promise<TrustedKeyInfo> {
    const parsed = parsePublicKey(publicKey);
    if (scope !== undefined && scope.length === 0) {
      throw new LifecycleError("PLUGIN_KEY_INVALID", "invalid key scope: give at least one pattern, or none for every id");
    }
    const patterns = scope?.map(parseKeyScope);
    const file = await this.#read();
    const existing = file.keys.find((k) => k.id === parsed.id);
    const addedAt = existing?.addedAt || new Date().toISOString();
    const entry = {
      id: parsed.id,
      publicKey: parsed.raw,
      ...(name === undefined ? {} : { name }),
      addedAt,
      ...(patterns === undefined ? {} : { scope: [...new Set(patterns)] }),
    };
    const keys = file.keys.filter((k) => k.id !== parsed.id);
    keys.push(entry);
    await writeJsonAtomic(this.#path, { version: 1, keys } satisfies KeysFile);
    return { ...entry, source: "file" };
  }

  /**
   * Removes the key whose id starts with `idPrefix` (at least 8 hex digits, and it must name
   * exactly one key: an ambiguous prefix is refused rather than guessed).
   */
  async remove(idPrefix: string): Promise<TrustedKeyInfo> {
    const prefix = idPrefix.trim().toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(prefix)) {
      throw new LifecycleError("PLUGIN_KEY_NOT_FOUND", `no trusted key with id ${JSON.stringify(idPrefix)} (give at least 8 hex digits of the id)`);
    }
    const file = await this.#read();
    const matches = file.keys.filter((k) => k.id.startsWith(prefix));
    if (matches.length === 0) {
      const inOptions = this.#fromOptions.some((k) => k.id.startsWith(prefix));
      throw new LifecycleError(
        "PLUGIN_KEY_NOT_FOUND",
        inOptions
          ? `trusted key ${prefix} comes from the host options, not the keys file; remove it there`
          : `no trusted key with id ${prefix}`,
      );
    }
    if (matches.length > 1) {
      throw new LifecycleError("PLUGIN_KEY_NOT_FOUND", `key id prefix ${prefix} is ambiguous (${matches.length} keys); give more digits`);
    }
    const [removed] = matches as [KeysFile["keys"][number]];
    await writeJsonAtomic(this.#path, { version: 1, keys: file.keys.filter((k) => k !== removed) } satisfies KeysFile);
    return {
      id: removed.id,
      publicKey: removed.publicKey,
      ...(removed.name === undefined ? {} : { name: removed.name }),
      source: "file",
    };
  }
}
