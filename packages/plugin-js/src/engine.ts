import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { JS_ENGINE_SHA256 } from "./engine-digest.js";

/** The engine component and its digest: what `createHost({ jsEngine })` of `@clawft/host` takes. */
export interface JsEngine {
  /** The component's bytes (a fresh copy on each call). */
  readonly bytes: Uint8Array;
  /** The sha256 recorded when the engine was built (lowercase hex). The host refuses bytes that do not hash to it. */
  readonly sha256: string;
}

/** Absolute path of the engine component in this package (`engine/clawft-js-engine.wasm`). */
export const JS_ENGINE_FILE: string = fileURLToPath(new URL("../engine/clawft-js-engine.wasm", import.meta.url));

/**
 * Reads the engine component. The digest is the one recorded at build time, not one computed
 * from the bytes read: a changed file then fails the host's check (PLUGIN_JS_ENGINE_TAMPERED)
 * instead of vouching for itself.
 */
export async function jsEngine(): Promise<JsEngine> {
  return Object.freeze({ bytes: new Uint8Array(await readFile(JS_ENGINE_FILE)), sha256: JS_ENGINE_SHA256 });
}

/** {@link jsEngine}, synchronously. */
export function jsEngineSync(): JsEngine {
  return Object.freeze({ bytes: new Uint8Array(readFileSync(JS_ENGINE_FILE)), sha256: JS_ENGINE_SHA256 });
}
