import type { OpenedPlugin, PluginManager } from "../lifecycle/manager.js";
import { LifecycleError } from "../lifecycle/errors.js";

/**
 * Runs one tool of a verified, approved plugin in a fresh host and returns its output.
 * The host's audit events are appended to the data directory's `audit.jsonl`.
 */
export async function runTool(
  _manager: PluginManager,
  _opened: OpenedPlugin,
  _tool: string,
  _paramsJson: string,
): Promise<string> {
  throw new LifecycleError("PLUGIN_SOURCE_INVALID", "run is not available yet: the host runtime is not wired in");
}
