import { promisify } from "node:util";
import { gzip, gzipSync } from "node:zlib";

const gzipAsync = promisify(gzip);

/** The two size limits of a plugin's component (T36). */
export interface ModuleSizeLimits {
  /** Largest component, uncompressed (bytes). */
  maxModuleBytes: number;
  /** Largest component after gzip at the default level (bytes). */
  maxModuleGzipBytes: number;
}

/**
 * T36: stops an oversized component before any parsing, transpiling or compiling
 * (a huge module is load work and memory the host would pay for). The gzipped
 * size bounds what a plugin ships as incompressible bytes. The uncompressed size
 * is checked first, so an oversized module is never gzipped. Returns the
 * refusal's message (it starts with `module too large`), or undefined when the
 * component fits. The install path (`PluginManager`) and `host.load` both use
 * it, so a module that installs also loads.
 */
export function moduleSizeProblem(module: Uint8Array, limits: ModuleSizeLimits): string | undefined {
  if (module.byteLength > limits.maxModuleBytes) {
    return `module too large: ${module.byteLength} bytes uncompressed (limit ${limits.maxModuleBytes})`;
  }
  const gzipped = gzipSync(module).byteLength;
  if (gzipped > limits.maxModuleGzipBytes) {
    return `module too large: ${gzipped} bytes gzipped (limit ${limits.maxModuleGzipBytes})`;
  }
  return undefined;
}

/**
 * {@link moduleSizeProblem} with the gzip on zlib's thread pool: `host.load` must
 * not stall the main thread on an untrusted component (T62; ~100 ms for 1 MB).
 * Same checks, same messages.
 */
export async function moduleSizeProblemAsync(module: Uint8Array, limits: ModuleSizeLimits): Promise<string | undefined> {
  if (module.byteLength > limits.maxModuleBytes) {
    return `module too large: ${module.byteLength} bytes uncompressed (limit ${limits.maxModuleBytes})`;
  }
  const gzipped = (await gzipAsync(module)).byteLength;
  if (gzipped > limits.maxModuleGzipBytes) {
    return `module too large: ${gzipped} bytes gzipped (limit ${limits.maxModuleGzipBytes})`;
  }
  return undefined;
}
