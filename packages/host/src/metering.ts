import { meterModule, MeteringError, METERING_META_VERSION, ResourceExhaustedError } from "@clawft/metering";
import type { CompileOptions } from "./compile.js";
import { PluginError } from "./errors.js";

export { ResourceExhaustedError };

/** Changes whenever the metering step changes (part of the compile cache key). */
export const METERING_VERSION = `metering-${METERING_META_VERSION}`;

/**
 * Passes one core module through @clawft/metering before it is compiled: a fuel
 * counter at every function entry and loop header (no loop or recursion runs
 * free), memory and table maxima rewritten to the plugin's caps.
 */
export async function meterCoreModule(
  bytes: Uint8Array,
  options: CompileOptions,
): Promise<{ bytes: Uint8Array; meta: unknown }> {
  try {
    const out = meterModule(bytes, {
      fuel: true,
      maxMemoryBytes: options.maxMemoryBytes,
      maxTableElements: options.maxTableElements,
    });
    return { bytes: out.bytes, meta: out.meta };
  } catch (error) {
    if (MeteringError.isInstance(error)) {
      throw new PluginError("PLUGIN_INVALID", `plugin module cannot be metered: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
