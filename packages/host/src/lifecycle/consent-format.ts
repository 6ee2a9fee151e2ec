import { escapeControlText } from "@clawft/sandbox-policy";
import type { LifecycleConsentRequest } from "./options.js";
import { describePermissions } from "./permissions.js";

/** Longest description shown in a prompt; the description grants nothing, so it may be cut. */
const MAX_DESCRIPTION_SHOWN = 500;

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
  if (request.description) {
    const why = escapeControlText(request.description);
    const shown = why.length > MAX_DESCRIPTION_SHOWN ? `${why.slice(0, MAX_DESCRIPTION_SHOWN - 1)}…` : why;
    lines.push(`Why (from its manifest): ${shown}`);
  }
  const kept = describePermissions(request.alreadyApproved, describe);
  if (kept.length > 0) {
    lines.push("Already approved, kept:");
    for (const line of kept) lines.push(`    ${escapeControlText(line)}`);
  }
  return lines.join("\n");
}
