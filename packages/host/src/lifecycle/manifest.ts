import { LifecycleError } from "./errors.js";
import { normalizeEntryPath } from "./archive.js";
import { ManifestError, manifestEntryFile, manifestRuntime, parseManifestWithWarnings, type PluginManifest, type PluginRuntime } from "@clawft/sandbox-policy";
import { normalizePermissions, type PermissionSet } from "./permissions.js";

/** The manifest's file name, at the root of a plugin folder or archive. */
export const MANIFEST_FILE = "clawft.plugin.json";

/** A manifest is small JSON; anything bigger is refused unread. */
export const MAX_MANIFEST_BYTES = 256 * 1024;

/** What the lifecycle needs from a manifest. */
export interface ManifestSummary {
  id: string;
  name: string;
  version: string;
  /** Text shown at consent time, when the manifest has one. */
  description?: string;
  /**
   * The entry file's path inside the plugin folder, normalised (`a/b.wasm`): `wasm_module`, or
   * `main` for a js plugin. It is what the size limits, the pinned sha256 and the signature cover.
   */
  wasmModule: string;
  /** `"component"` or `"js"` (the manifest's `runtime`). */
  runtime: PluginRuntime;
  /** The manifest key that names the entry file: `wasm_module`, or `main` for a js plugin. */
  entryField: "wasm_module" | "main";
  permissions: PermissionSet;
  /** Non-fatal findings of the manifest parser (unknown keys, clamped resources). */
  warnings: string[];
  /** The validated manifest. */
  raw: PluginManifest;
}

/**
 * A plugin id is used as a folder name under the data directory: reverse-domain letters,
 * digits, `-`, `_` and single dots only. Stops an id such as `../x` or `a/b` from placing
 * an install outside `plugins/`.
 */
const ID_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*$/;
const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

export function isValidPluginId(id: string): boolean {
  return id.length <= 128 && ID_PATTERN.test(id);
}

/**
 * Parses and validates the manifest bytes with `@clawft/sandbox-policy`'s `parseManifestWithWarnings`
 * (the same rules the host applies at load). Errors are `PLUGIN_INVALID_MANIFEST` naming the field,
 * with the `ManifestError` as `cause`. The lifecycle additionally requires the runtime's entry file,
 * `wasm_module` or `main` (an installed plugin is a folder) and an id usable as a folder name.
 */
export function readManifest(bytes: Uint8Array): ManifestSummary {
  const bad = (message: string, cause?: unknown) =>
    new LifecycleError("PLUGIN_INVALID_MANIFEST", `invalid plugin manifest: ${message}`, { cause });
  if (bytes.length > MAX_MANIFEST_BYTES) throw bad(`${MANIFEST_FILE} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  let parsed: ReturnType<typeof parseManifestWithWarnings>;
  try {
    // `ignoreBOM: true` keeps a BOM in the text: `parseManifestWithWarnings` strips it, the one
    // place that does, for the manager here and the host at every run alike (T67).
    parsed = parseManifestWithWarnings(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch (error) {
    if (ManifestError.isInstance(error)) {
      throw new LifecycleError("PLUGIN_INVALID_MANIFEST", error.message, { cause: error });
    }
    throw bad(`${MANIFEST_FILE} is not UTF-8 JSON`, error);
  }
  const m = parsed.manifest;
  if (!isValidPluginId(m.id)) throw bad("id: must be usable as a folder name");
  const runtime = manifestRuntime(m);
  const entryField = runtime === "js" ? "main" : "wasm_module";
  const entry = manifestEntryFile(m);
  if (typeof entry !== "string" || entry === "") {
    throw bad(`${entryField}: required to install a plugin`);
  }
  let wasmModule: string;
  try {
    wasmModule = normalizeEntryPath(entry);
  } catch (error) {
    throw bad(`${entryField}: must be a relative path inside the plugin folder`, error);
  }
  if (wasmModule === "") throw bad(`${entryField}: must be a relative path inside the plugin folder`);
  const p = m.permissions;
  return {
    id: m.id,
    name: m.name,
    version: m.version,
    ...(typeof m.description === "string" ? { description: m.description } : {}),
    wasmModule,
    runtime,
    entryField,
    permissions: normalizePermissions({
      network: [...p.network],
      filesystem: [...p.filesystem],
      env_vars: [...p.env_vars],
      shell: p.shell === true,
    }),
    warnings: parsed.warnings,
    raw: m,
  };
}

function parseSemver(v: string): { core: [number, number, number]; pre: string[] } {
  const match = SEMVER_PATTERN.exec(v);
  if (!match) return { core: [0, 0, 0], pre: [] };
  return {
    core: [Number(match[1]), Number(match[2]), Number(match[3])],
    pre: match[4] === undefined ? [] : match[4].split("."),
  };
}

/** Semver precedence: negative when `a < b`, 0 when equal (build metadata ignored). */
export function compareVersions(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.core[i] ?? 0) - (y.core[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre.length === 0 && y.pre.length === 0) return 0;
  if (x.pre.length === 0) return 1; // a release ranks above its pre-releases
  if (y.pre.length === 0) return -1;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) {
      const d = Number(p) - Number(q);
      if (d !== 0) return Math.sign(d);
    } else if (pn !== qn) {
      return pn ? -1 : 1;
    } else if (p !== q) {
      return p < q ? -1 : 1;
    }
  }
  return 0;
}
