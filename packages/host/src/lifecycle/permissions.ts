import { isAbsolute, join } from "node:path";
import { diffPermissions, normalizeFilesystemGrant } from "@clawft/sandbox-policy";

/**
 * The four kinds of permission a manifest can ask for, in the manifest's own spelling.
 * Every one of them needs the user's consent before a plugin's first run.
 */
export interface PermissionSet {
  network: string[];
  filesystem: string[];
  env_vars: string[];
  shell: boolean;
}

export const NO_PERMISSIONS: Readonly<PermissionSet> = Object.freeze({
  network: [],
  filesystem: [],
  env_vars: [],
  shell: false,
});

export function isEmptyPermissions(p: PermissionSet): boolean {
  return p.network.length === 0 && p.filesystem.length === 0 && p.env_vars.length === 0 && !p.shell;
}

/** A copy with sorted, de-duplicated lists (so stored approvals compare and print stably). */
export function normalizePermissions(p: PermissionSet): PermissionSet {
  const list = (xs: readonly string[]) => [...new Set(xs)].sort();
  return { network: list(p.network), filesystem: list(p.filesystem), env_vars: list(p.env_vars), shell: p.shell };
}

/**
 * What `requested` asks for that `approved` does not grant: `@clawft/sandbox-policy`'s
 * `diffPermissions` (entry by entry; host names compared in normalised form, and an approval of
 * `api.example.com` never covers `*.example.com`), so an upgrade is asked about its new
 * permissions only (T41) and a widened grant is always asked again.
 */
export function missingPermissions(approved: PermissionSet, requested: PermissionSet): PermissionSet {
  const diff = diffPermissions(approved, requested);
  return normalizePermissions({
    network: diff.network,
    filesystem: diff.filesystem,
    env_vars: diff.env_vars,
    shell: diff.shell,
  });
}

export function unionPermissions(a: PermissionSet, b: PermissionSet): PermissionSet {
  return normalizePermissions({
    network: [...a.network, ...b.network],
    filesystem: [...a.filesystem, ...b.filesystem],
    env_vars: [...a.env_vars, ...b.env_vars],
    shell: a.shell || b.shell,
  });
}

/** What both sets grant. */
export function intersectPermissions(a: PermissionSet, b: PermissionSet): PermissionSet {
  const both = (xs: readonly string[], ys: readonly string[]) => xs.filter((x) => ys.includes(x));
  return normalizePermissions({
    network: both(a.network, b.network),
    filesystem: both(a.filesystem, b.filesystem),
    env_vars: both(a.env_vars, b.env_vars),
    shell: a.shell && b.shell,
  });
}

/**
 * The folder an installed plugin's relative filesystem grants resolve against:
 * `<dataDir>/data/<id>`. It survives upgrades and is never the verified package
 * folder, so a plugin cannot rewrite its own installed files.
 */
export function pluginDataFolder(dataDir: string, pluginId: string): string {
  return join(dataDir, "data", pluginId);
}

/**
 * How a filesystem grant is shown to a person: the absolute folder it becomes.
 * A relative grant (`cache`) is shown joined to `dataFolder` with the
 * manifest's spelling after it (`/home/u/.clawft/data/com.x/cache (manifest:
 * cache)`), so the user sees where the plugin will read and write, and can
 * still match the grant in a `--grant` file. Without `dataFolder` it says what
 * the path is relative to.
 */
export function describeFilesystemGrant(path: string, dataFolder?: string): string {
  if (isAbsolute(path)) return path;
  if (dataFolder === undefined) return `${path} (inside the plugin's data folder)`;
  return `${join(dataFolder, path)} (manifest: ${path})`;
}

/** Options of {@link describePermissions}. */
export interface DescribePermissionsOptions {
  /**
   * The folder relative filesystem grants resolve against (`pluginDataFolder(dataDir, id)`),
   * so they are shown as the absolute folder they become.
   * @default undefined (relative grants are shown as written, marked relative)
   */
  dataFolder?: string;
}

/**
 * One human-readable line per permission, for consent prompts, `info` and `permissions <id>`.
 * Lines are complete (never cut): the manifest parser bounds every value (1024 characters, 64
 * entries per list) and refuses control and bidi characters in paths and env names, so what is
 * shown is exactly what is granted. Callers still escape each line for the terminal.
 */
export function describePermissions(p: PermissionSet, options: DescribePermissionsOptions = {}): string[] {
  const lines: string[] = [];
  if (p.shell) lines.push("shell: run shell commands (shell: true)");
  for (const host of p.network) {
    lines.push(host === "*" ? "network: any public host (*)" : `network: ${host}`);
  }
  for (const path of p.filesystem) lines.push(`filesystem: ${describeFilesystemGrant(path, options.dataFolder)}`);
  for (const name of p.env_vars) lines.push(`env: ${name}`);
  return lines;
}

/**
 * Reads a permission set from untrusted JSON (a pre-grant file, a stored approval). Missing
 * fields are empty; a field of the wrong type throws a TypeError naming it.
 */
export function permissionsFromJson(value: unknown, where: string): PermissionSet {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${where} must be an object`);
  }
  const v = value as Record<string, unknown>;
  const list = (key: "network" | "filesystem" | "env_vars"): string[] => {
    const x = v[key];
    if (x === undefined) return [];
    if (!Array.isArray(x) || !x.every((s) => typeof s === "string")) {
      throw new TypeError(`${where}.${key} must be an array of strings`);
    }
    return x as string[];
  };
  if (v.shell !== undefined && typeof v.shell !== "boolean") throw new TypeError(`${where}.shell must be a boolean`);
  // Paths in the manifest's normalised form (`/data/` = `/data`), so a grant matches what was asked.
  const filesystem = list("filesystem").map((path) => {
    const n = normalizeFilesystemGrant(path);
    return n.ok ? n.path : path;
  });
  return normalizePermissions({
    network: list("network"),
    filesystem,
    env_vars: list("env_vars"),
    shell: v.shell === true,
  });
}
