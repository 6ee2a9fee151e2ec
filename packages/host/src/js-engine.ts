import { createHash } from "node:crypto";
import { PluginError } from "./errors.js";

/**
 * A JS engine component: what `jsEngine()` of `@clawft/plugin-js` returns. The host runs a
 * plugin whose manifest says `"runtime": "js"` inside its own instance of this component.
 */
export interface JsEngine {
  /** The engine component's bytes. */
  readonly bytes: Uint8Array;
  /** Their sha256, lowercase hex: the host refuses bytes whose digest differs. */
  readonly sha256: string;
}

/** Where `createHost` gets the JS engine: the engine itself, or a function returning it (called once, on the first js plugin). */
export type JsEngineOption = JsEngine | (() => JsEngine | Promise<JsEngine>);

/** The optional peer dependency that ships the engine (imported only when a js plugin is loaded). */
export const JS_ENGINE_PACKAGE = "@clawft/plugin-js";

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The default engine source: `jsEngine()` of `@clawft/plugin-js`, imported on first use. */
async function importDefaultEngine(): Promise<JsEngine> {
  let mod: { jsEngine?: unknown };
  try {
    // A variable specifier: bundlers leave the optional peer dependency alone, and hosts
    // that never load a js plugin never import it.
    const specifier: string = JS_ENGINE_PACKAGE;
    mod = (await import(specifier)) as { jsEngine?: unknown };
  } catch (cause) {
    const code = (cause as { code?: string } | undefined)?.code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new PluginError(
        "PLUGIN_JS_ENGINE_MISSING",
        `js engine missing: install ${JS_ENGINE_PACKAGE} to load plugins with "runtime": "js" (or pass createHost({ jsEngine }))`,
        { cause },
      );
    }
    throw cause;
  }
  if (typeof mod.jsEngine !== "function") {
    throw new PluginError("PLUGIN_JS_ENGINE_MISSING", `js engine missing: ${JS_ENGINE_PACKAGE} exports no jsEngine()`);
  }
  return (await (mod.jsEngine as () => unknown)()) as JsEngine;
}

/**
 * Gets the engine once and checks it: bytes, a sha256 in hex, and bytes that hash to it.
 * Stops a tampered or corrupted engine file (bytes changed on disk after the package
 * recorded their digest) from running every js plugin of the host: the engine is trusted
 * code, exempt from the plugin size limits, so its bytes must be exactly the ones built.
 */
export async function loadJsEngine(option: JsEngineOption | undefined): Promise<JsEngine> {
  let engine: unknown;
  try {
    engine = option === undefined ? await importDefaultEngine() : typeof option === "function" ? await option() : option;
  } catch (cause) {
    if (PluginError.isInstance(cause)) throw cause;
    throw new PluginError("PLUGIN_JS_ENGINE_MISSING", `js engine missing: getting it failed: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
  }
  const e = engine as Partial<JsEngine> | null;
  if (typeof e !== "object" || e === null || !(e.bytes instanceof Uint8Array) || typeof e.sha256 !== "string" || !SHA256_HEX.test(e.sha256)) {
    throw new PluginError("PLUGIN_JS_ENGINE_MISSING", "js engine missing: expected { bytes: Uint8Array, sha256: <64 hex digits> }");
  }
  const actual = createHash("sha256").update(e.bytes).digest("hex");
  if (actual !== e.sha256) {
    throw new PluginError("PLUGIN_JS_ENGINE_TAMPERED", `js engine tampered: its sha256 is ${actual}, expected ${e.sha256}`);
  }
  // A private copy: a caller that changes its array afterwards changes nothing here.
  return Object.freeze({ bytes: e.bytes.slice(), sha256: actual });
}

/**
 * A js plugin's bundled JS as text. Must be UTF-8 (refused otherwise, never repaired: the
 * signature covers the bytes, and what runs must be exactly what was signed).
 */
export function decodeJsPayload(js: string | Uint8Array, pluginId: string): { text: string; bytes: Uint8Array } {
  if (typeof js === "string") return { text: js, bytes: new TextEncoder().encode(js) };
  if (!(js instanceof Uint8Array)) throw new PluginError("PLUGIN_INVALID", "js must be a string or a Uint8Array", { pluginId });
  try {
    return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(js), bytes: js };
  } catch (cause) {
    throw new PluginError("PLUGIN_INVALID", "js plugin is not UTF-8 text", { pluginId, cause });
  }
}
