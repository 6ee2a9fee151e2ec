import { DescribeError, type PluginDescription, parseDescribe } from "@clawft/wit-bindings";
import { PluginError } from "./errors.js";
import { cutGuestText } from "./runtime/result-bounds.js";
import { STUBBED_WASI_INTERFACES, wasiInterfaceName } from "./runtime/wasi-stubs.js";

export type { PluginDescription, ToolDescription } from "@clawft/wit-bindings";

/**
 * Checks the component before anything runs (world check by @clawft/wit-bindings):
 * first a strict scan of its binary bounds its type complexity before any code
 * generation (`PLUGIN_TOO_COMPLEX`: a type bomb would make jco's decoder and glue
 * huge); then it must export the `plugin` interface with the world's types and no
 * other export (`PLUGIN_UNKNOWN_EXPORT`), import nothing but `host`, and have no core
 * `host` import its own `host` import does not declare (`PLUGIN_UNWIRED_HOST_IMPORT`).
 * Any `wasi:*` import is refused by name: this host gives plugins no WASI at all
 * (never jco's preview2 shim, which exposes the real filesystem and environment), so a toolchain must avoid them (e.g. `componentize-qjs --stub-wasi`).
 */
export async function checkComponent(
  wasm: Uint8Array,
  pluginId: string,
  wasiMode: "refuse" | "deny" = "refuse",
  /** The component is the JS engine: it must also export `load-plugin-source` (a plugin's own component must not). */
  jsEngine = false,
): Promise<void> {
  const { validatePluginComponent } = await import("@clawft/wit-bindings");
  const verdict = await validatePluginComponent(wasm, {
    maxBytes: Math.max(wasm.byteLength, 1),
    allowWasiImports: wasiMode === "deny",
    jsEngine,
  });
  const wasi =
    wasiMode === "deny"
      ? verdict.wasiImports.find((name) => !STUBBED_WASI_INTERFACES.includes(wasiInterfaceName(name)))
      : verdict.wasiImports[0];
  if (wasi !== undefined) {
    throw new PluginError(
      "PLUGIN_FORBIDDEN_IMPORT",
      `forbidden import: ${wasi} (this host provides no WASI; build the plugin without WASI imports)`,
      { pluginId },
    );
  }
  const first = verdict.errors[0];
  if (first === undefined) return;
  // Names come from the component (guest-chosen): the list is cut like any guest text.
  const issues = cutGuestText(verdict.errors.map((e) => e.message).join("; "));
  if (first.code === "WIT_FORBIDDEN_IMPORT") {
    // wit-bindings' messages already start with "forbidden import: <name>".
    throw new PluginError("PLUGIN_FORBIDDEN_IMPORT", issues, { pluginId });
  }
  if (first.code === "WIT_TOO_COMPLEX") {
    // "component too complex: <what> <n> exceeds <limit> (<option>)", found before any code generation (T58).
    throw new PluginError("PLUGIN_TOO_COMPLEX", first.message, { pluginId });
  }
  if (first.code === "WIT_UNWIRED_HOST_IMPORT") {
    // "host import not wired: core imports host/log are not lowered from the component's host import (...)" (T60).
    throw new PluginError("PLUGIN_UNWIRED_HOST_IMPORT", issues, { pluginId });
  }
  if (first.code === "WIT_UNKNOWN_EXPORT") {
    // "unknown export: <name> ..." (T59).
    throw new PluginError("PLUGIN_UNKNOWN_EXPORT", issues, { pluginId });
  }
  throw new PluginError("PLUGIN_INVALID", `not a clawft plugin component: ${issues}`, { pluginId });
}

/** Parses and validates `describe()` output (captured once, at load). */
export function parseDescribeJson(text: string, pluginId: string): PluginDescription {
  try {
    return parseDescribe(text);
  } catch (cause) {
    if (DescribeError.isInstance(cause)) {
      // It may quote the plugin's own text (tool names): cut like any guest text.
      throw new PluginError("PLUGIN_INVALID_DESCRIBE", cutGuestText(cause.message), { pluginId, cause });
    }
    throw cause;
  }
}
