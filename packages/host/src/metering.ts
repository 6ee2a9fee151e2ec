import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
// The runtime entry: errors and constants without binaryen (loaded lazily below, only to meter).
import { MeteringError, METERING_META_VERSION, ResourceExhaustedError } from "@clawft/metering/runtime";
import type { CompileOptions } from "./compile.js";
import { PluginError } from "./errors.js";

export { ResourceExhaustedError };

let fingerprint: string | undefined;

/**
 * Changes whenever the metering step changes (part of the on-disk compile cache
 * key): the import-contract version plus a hash of the installed metering code,
 * so a new instrumentation never reuses modules metered by an older one.
 */
export function meteringVersion(): string {
  if (fingerprint === undefined) {
    let code = "";
    try {
      code = readFileSync(fileURLToPath(import.meta.resolve("@clawft/metering")), "utf8");
    } catch {
      code = String(Math.random()); // unknown install: never reuse a disk entry
    }
    fingerprint = `metering-${METERING_META_VERSION}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}`;
  }
  return fingerprint;
}

/**
 * Passes one core module through @clawft/metering before it is compiled: a fuel
 * counter at every function entry and loop header (no loop or recursion runs
 * free), memory and table maxima rewritten to the plugin's caps.
 */
export async function meterCoreModule(
  bytes: Uint8Array,
  options: CompileOptions,
): Promise<{ bytes: Uint8Array; meta: unknown }> {
  const { meterModule } = await import("@clawft/metering");
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
