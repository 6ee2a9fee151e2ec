import { createInterface } from "node:readline/promises";
import type { Readable, Writable } from "node:stream";
import {
  describePermissions,
  formatConsentRequest,
  isEmptyPermissions,
  missingPermissions,
  permissionsFromJson,
  type ConsentCallback,
  type LifecycleConsentRequest,
  type PermissionSet,
} from "@clawft/host";
import { escapeControlText } from "@clawft/sandbox-policy";

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

/** Why a non-interactive request was refused (or undefined when it is approved). */
export function preGrantRefusal(request: LifecycleConsentRequest, policy: Pick<ConsentPolicy, "yes" | "grants">): string | undefined {
  if (policy.yes) return undefined;
  const granted = policy.grants?.get(request.pluginId);
  if (!granted) {
    // The refusal names what was asked, so a script's author knows what to pre-grant.
    const asked = describePermissions(request.permissions, { dataFolder: request.dataFolder }).map((l) => escapeControlText(l));
    return `not approved: ${asked.join(", ")} (non-interactive: pass --yes or a --grant file naming the permissions)`;
  }
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
