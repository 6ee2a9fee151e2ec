import { createInterface } from "node:readline/promises";
import { escapeControlText } from "@clawft/sandbox-policy";
import { safeText } from "./format.js";
import type { Readable, Writable } from "node:stream";
import type { ConsentCallback, LifecycleConsentRequest } from "../lifecycle/options.js";
import {
  describePermissions,
  isEmptyPermissions,
  missingPermissions,
  permissionsFromJson,
  type PermissionSet,
} from "../lifecycle/permissions.js";

/** A pre-grant file: plugin id → the permissions the operator grants it in advance. */
export type PreGrants = ReadonlyMap<string, PermissionSet>;

/**
 * Parses a pre-grant file:
 * ```json
 * { "com.example.weather": { "network": ["api.weather.example"], "env_vars": ["WEATHER_KEY"] } }
 * ```
 * Each key is a plugin id; each value uses the manifest's `permissions` spelling
 * (`network`, `filesystem`, `env_vars`, `shell`). A request is approved only when every
 * permission in it is listed for that plugin id.
 */
export function parsePreGrants(text: string): PreGrants {
  const value = JSON.parse(text) as unknown;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError("the grant file must be a JSON object of plugin id → permissions");
  }
  const out = new Map<string, PermissionSet>();
  for (const [id, perms] of Object.entries(value as Record<string, unknown>)) {
    out.set(id, permissionsFromJson(perms, `grant file ${JSON.stringify(id)}`));
  }
  return out;
}

export interface ConsentPolicy {
  yes: boolean;
  grants: PreGrants | undefined;
  interactive: boolean;
  input: Readable;
  output: Writable;
}

/**
 * The lines shown to the user before they decide (T63-T65). Every piece of manifest text
 * (id, version, name, description, permission values) is escaped with `escapeControlText`, so
 * a manifest cannot fake the prompt with terminal escape sequences, line breaks or bidi
 * overrides. Permission lines are never cut: a permission hidden past a cut would be granted
 * unseen (the manifest parser refuses values too long to show instead). Relative filesystem
 * grants are shown as the absolute folder they become (`request.dataFolder`). Only the
 * description, which grants nothing, is cut (500 characters).
 */
export function formatConsentRequest(request: LifecycleConsentRequest): string {
  const lines: string[] = [];
  const what =
    request.reason === "upgrade"
      ? `(upgrade ${escapeControlText(request.previousVersion ?? "?")} -> ${escapeControlText(request.version)})`
      : escapeControlText(request.version);
  lines.push(
    `Plugin ${escapeControlText(request.pluginId)} ${what} "${escapeControlText(request.name)}" asks for${
      request.reason === "upgrade" ? " these NEW permissions" : ""
    }:`,
  );
  const describe = { dataFolder: request.dataFolder };
  for (const line of describePermissions(request.permissions, describe)) lines.push(`  + ${escapeControlText(line)}`);
  if (request.description) lines.push(`Why (from its manifest): ${safeText(request.description, 500)}`);
  const kept = describePermissions(request.alreadyApproved, describe);
  if (kept.length > 0) {
    lines.push("Already approved, kept:");
    for (const line of kept) lines.push(`    ${escapeControlText(line)}`);
  }
  return lines.join("\n");
}

/** Why a non-interactive request was refused (or undefined when it is approved). */
export function preGrantRefusal(request: LifecycleConsentRequest, policy: Pick<ConsentPolicy, "yes" | "grants">): string | undefined {
  if (policy.yes) return undefined;
  const granted = policy.grants?.get(request.pluginId);
  if (!granted) return "not approved (non-interactive: pass --yes or a --grant file naming the permissions)";
  const missing = missingPermissions(granted, request.permissions);
  if (isEmptyPermissions(missing)) return undefined;
  const lines = describePermissions(missing, { dataFolder: request.dataFolder });
  return `not in the grant file: ${lines.map((l) => escapeControlText(l)).join(", ")}`;
}

/**
 * The CLI's approval callback: `--yes` approves; a pre-grant file approves requests it fully
 * covers; otherwise, on a TTY, the user is asked (default No); without a TTY it refuses
 * (deny by default: a script never grants permissions by accident).
 */
export function createConsentCallback(policy: ConsentPolicy, onRefusal: (why: string) => void): ConsentCallback {
  return async (request) => {
    const refusal = preGrantRefusal(request, policy);
    if (refusal === undefined) return true;
    if (!policy.interactive) {
      onRefusal(refusal);
      return false;
    }
    policy.output.write(`${formatConsentRequest(request)}\n`);
    const rl = createInterface({ input: policy.input, output: policy.output });
    try {
      const answer = await rl.question("Allow? [y/N] ");
      const ok = /^\s*y(es)?\s*$/i.test(answer);
      if (!ok) onRefusal("refused at the prompt");
      return ok;
    } finally {
      rl.close();
    }
  };
}
