/**
 * The permission diff (T41), apart from the manifest schema so that it loads
 * without zod (`@clawft/sandbox-policy/core`).
 */
import { normalizeNetworkEntry } from "./allowlist.js";
import { normalizeFilesystemGrant } from "./grant-path.js";
import type { PluginPermissions } from "./manifest.js";

/** New permissions in an upgrade (what needs the user's consent again). */
export interface PermissionDiff {
  network: string[];
  filesystem: string[];
  env_vars: string[];
  /** True when shell goes from not approved to requested. */
  shell: boolean;
  /** True when anything above is new. */
  hasNew: boolean;
  /** `!hasNew`. */
  isEmpty: boolean;
}

function newEntries(
  approved: readonly string[] | undefined,
  requested: readonly string[] | undefined,
  key: (s: string) => string,
): string[] {
  const have = new Set((approved ?? []).map(key));
  const seen = new Set<string>();
  const out: string[] = [];
  for (const entry of requested ?? []) {
    const k = key(entry);
    if (have.has(k) || seen.has(k)) continue;
    seen.add(k);
    out.push(entry);
  }
  return out;
}

/** Network entries compare in normalised form (`API.example.com.` = `api.example.com`). */
function networkKey(entry: string): string {
  const n = normalizeNetworkEntry(entry);
  if (!n) return `\0invalid:${entry}`;
  switch (n.kind) {
    case "any":
      return "*";
    case "wildcard":
      return `*${n.suffix}`;
    default:
      return n.host;
  }
}

/** Paths compare in their normalised form (`/data/` = `/data`); a malformed one matches nothing. */
function filesystemKey(entry: string): string {
  const n = normalizeFilesystemGrant(entry);
  return n.ok ? n.path : `\0invalid:${entry}`;
}

/**
 * What `requested` asks for beyond `approved` (T41: an upgrade that adds a
 * permission asks the user again, for the new permission only). Network
 * entries and paths compare in normalised form; env names exactly; `shell` is
 * new when it goes from false to true. A `*` in `approved.network` does not
 * absorb new exact entries: anything not literally approved before is new.
 */
export function diffPermissions(
  approved: Partial<PluginPermissions> | undefined,
  requested: Partial<PluginPermissions>,
): PermissionDiff {
  const network = newEntries(approved?.network, requested.network, networkKey);
  const filesystem = newEntries(approved?.filesystem, requested.filesystem, filesystemKey);
  const env_vars = newEntries(approved?.env_vars, requested.env_vars, (s) => s);
  const shell = requested.shell === true && approved?.shell !== true;
  const hasNew = network.length > 0 || filesystem.length > 0 || env_vars.length > 0 || shell;
  return { network, filesystem, env_vars, shell, hasNew, isEmpty: !hasNew };
}
