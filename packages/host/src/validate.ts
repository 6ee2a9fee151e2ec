import { componentWit } from "@bytecodealliance/jco";
import { PluginError } from "./errors.js";

/** One tool as `describe()` declares it. */
export interface PluginToolDescription {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The parsed, validated output of the plugin's `describe()`. */
export interface PluginDescription {
  name: string;
  version: string;
  tools: PluginToolDescription[];
  [key: string]: unknown;
}

/**
 * Checks the component before anything runs.
 * TEMPORARY (until @clawft/wit-bindings' validatePluginComponent lands): imports are
 * read from the component's WIT; any `wasi:*` or other foreign import is refused.
 */
export async function checkComponent(wasm: Uint8Array, pluginId: string): Promise<void> {
  let wit: string;
  try {
    wit = await componentWit(wasm);
  } catch (cause) {
    throw new PluginError("PLUGIN_INVALID", "not a WebAssembly component", { pluginId, cause });
  }
  for (const m of wit.matchAll(/^\s*import\s+([^;]+);/gm)) {
    const name = (m[1] ?? "").trim();
    if (name.startsWith("host:") || name === "host") continue;
    throw new PluginError("PLUGIN_FORBIDDEN_IMPORT", `forbidden import: ${name}`, { pluginId });
  }
}

/** Parses and validates `describe()` output. */
export function parseDescribeJson(text: string, pluginId: string): PluginDescription {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new PluginError("PLUGIN_INVALID_DESCRIBE", "describe() did not return JSON", { pluginId, cause });
  }
  const v = value as Record<string, unknown>;
  if (typeof v !== "object" || v === null || typeof v.name !== "string" || typeof v.version !== "string" || !Array.isArray(v.tools)) {
    throw new PluginError("PLUGIN_INVALID_DESCRIBE", "describe() must return { name, version, tools }", { pluginId });
  }
  for (const [i, t] of (v.tools as unknown[]).entries()) {
    if (typeof t !== "object" || t === null || typeof (t as Record<string, unknown>).name !== "string") {
      throw new PluginError("PLUGIN_INVALID_DESCRIBE", `describe(): tools[${i}].name must be a string`, { pluginId });
    }
  }
  return v as PluginDescription;
}
