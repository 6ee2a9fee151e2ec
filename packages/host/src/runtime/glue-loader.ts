/**
 * Loads a plugin's jco glue in its worker from V8's code cache.
 *
 * Every new instance (a load, or the replacement after a crash or a timeout)
 * used to import the ~150–250 KB glue as a data: URL module: 7–25 ms of decoding,
 * parsing and compiling, on the path of the call that waits for the instance.
 * jco's async-instantiation glue is one module with two exports and no static
 * imports, so it can run as a classic script wrapped in a function, and a script
 * accepts a code cache. The load worker compiles the glue once per component
 * (never running it) and keeps the cache with the compiled component; workers
 * start from it (measured: 3.5–6 ms → 0.3 ms). V8 checks that a cache matches the
 * exact source, its version and its flags, and ignores it otherwise.
 *
 * The cache is made by the host's load worker (runtime/load-worker.ts), a thread
 * that never runs guest code, never taken from a plugin worker: a plugin worker
 * runs guest code, and nothing a plugin worker produces may reach another worker.
 */
import { Script } from "node:vm";

const GLUE_FILENAME = "clawft-plugin-glue.js";

/** The two exports of jco 1.35's glue, at the start of their lines. */
const INSTANTIATE_EXPORT = "\nexport function instantiate(";
const UTIL_EXPORT = "\nexport const _util = ";
/**
 * jco's fallback when no `getCoreModule` is given (fetch the modules next to the
 * glue): the one use of `import.meta`, which a script cannot contain. The host
 * always passes `getCoreModule`, so the fallback never runs.
 */
const CORE_MODULE_FALLBACK = "if (!getCoreModule) getCoreModule = (name) => fetchCompile(new URL(`./${name}`, import.meta.url));";

/**
 * Rewrites the glue as a classic script returning its exports, or undefined when
 * it does not have the exact shape expected (another jco version): the caller
 * then imports it as a module.
 */
export function glueAsScript(glue: string): string | undefined {
  for (const marker of [INSTANTIATE_EXPORT, UTIL_EXPORT, CORE_MODULE_FALLBACK]) {
    if (glue.split(marker).length !== 2) return undefined;
  }
  const body = glue
    .replace(INSTANTIATE_EXPORT, "\nfunction instantiate(")
    .replace(UTIL_EXPORT, "\nconst _util = ")
    .replace(CORE_MODULE_FALLBACK, 'if (!getCoreModule) throw new Error("clawft: getCoreModule is required");');
  // Any other module syntax means another shape: keep the module path.
  if (/^\s*(export|import)\s/m.test(body) || body.includes("import.meta")) return undefined;
  // Modules are strict; the wrapper keeps it so.
  return `(function () {\n"use strict";\n${body}\nreturn { instantiate, _util };\n})()`;
}

/** Compiles the glue (without running it) and returns V8's code cache, or undefined for a glue of another shape. */
export function createGlueCodeCache(glue: string): Uint8Array | undefined {
  const source = glueAsScript(glue);
  if (source === undefined) return undefined;
  return new Uint8Array(new Script(source, { filename: GLUE_FILENAME }).createCachedData());
}

/** Runs the glue in this (worker) thread and returns its exports; a module import when it is not of the known shape. */
export async function loadGlue<T>(glue: string, codeCache: Uint8Array | undefined): Promise<T> {
  const source = glueAsScript(glue);
  if (source === undefined) {
    return (await import(`data:text/javascript;base64,${Buffer.from(glue).toString("base64")}`)) as T;
  }
  const script = new Script(source, {
    filename: GLUE_FILENAME,
    ...(codeCache ? { cachedData: Buffer.from(codeCache.buffer, codeCache.byteOffset, codeCache.byteLength) } : {}),
  });
  return script.runInThisContext() as T;
}
