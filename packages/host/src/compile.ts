import { createHash, randomBytes } from "node:crypto";
import { access, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { debuglog } from "node:util";
import { PluginError } from "./errors.js";
import { LoadWorker, type PrepareOptions } from "./load-worker-client.js";
import { meterCoreModule, meteringVersion } from "./metering.js";
import { createGlueCodeCache } from "./runtime/glue-loader.js";

const debug = debuglog("clawft");

/** A component made runnable: patched jco glue plus metered, compiled core modules. */
export interface CompiledComponent {
  key: string;
  glue: string;
  modules: Record<string, WebAssembly.Module>;
  /** Per-module metering data the in-worker meter needs. */
  metering: unknown;
  /** The component's imports as jco reports them (interface names). */
  imports: string[];
  /** The functions of the component's own `host` import: the only host functions its worker binds (T60). */
  hostFunctions: string[];
  /** V8's code cache of the glue, made by the load worker (see runtime/glue-loader.ts). */
  glueCodeCache: Uint8Array | undefined;
}

/** What the load worker hands back for an uncached component: everything but the compiled modules. */
export interface PreparedComponent {
  glue: string;
  /** Metered core modules, by the file name the glue asks for. */
  modules: Record<string, Uint8Array>;
  metering: Record<string, unknown>;
  imports: string[];
  hostFunctions: string[];
  glueCodeCache: Uint8Array | undefined;
  /** What was done, in order (`transpile`, `meter:plugin.core.wasm`, `code-cache`): reported on `clawft:load`. */
  steps: string[];
}

export interface CompileOptions {
  maxMemoryBytes: number;
  maxTableElements: number;
}

/** Bumped whenever the transpile/patch/meter pipeline changes (invalidates disk caches). */
const PIPELINE_VERSION = "host-2";

/**
 * Largest glue jco may generate for one component. The JS example's is ~220 KB, a
 * WAT fixture's ~165 KB. Defence in depth behind the type-complexity scan: whatever
 * slips past it cannot hand a worker megabytes of generated code to load.
 */
export const MAX_GLUE_BYTES = 2 * 1024 * 1024;
const JCO_VERSION = "1.35.0";

/** The check jco 1.35's `_debugLog` runs on every call; patched out of the hot path. */
const DEBUG_ENV_CHECK = "if (!globalThis?.process?.env?.JCO_DEBUG) { return; }";

/**
 * Removes the per-call `process.env.JCO_DEBUG` lookup from jco's glue: `_debugLog`
 * becomes a no-op. (The worker also gets an empty environment, so even an unpatched
 * glue cannot read the host's variables.)
 */
export function patchGlue(glue: string): string {
  return glue.split(DEBUG_ENV_CHECK).join("return;");
}

function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

let extendedConstEnabled = false;

/**
 * Node < 22 ships the wasm extended-const proposal (standardised; componentize-qjs
 * plugins use it) behind a flag. Turned on once, before any core module of a
 * plugin is metered or compiled: metering's validation and `WebAssembly.compile`
 * then accept it, with no second validation pass per module. V8 flags are per
 * process; this one only enables a standard wasm feature.
 */
function enableExtendedConst(): void {
  if (extendedConstEnabled) return;
  extendedConstEnabled = true;
  if (Number(process.versions.node.split(".")[0]) < 22) setFlagsFromString("--experimental-wasm-extended-const");
}

interface DiskIndex {
  version: string;
  imports: string[];
  hostFunctions: string[];
  metering: unknown;
  files: Record<string, string>;
}

/** Compiled components a host keeps in memory (least recently used dropped first). */
export const MEMORY_CACHE_ENTRIES = 32;

/**
 * Transpiles components with jco and meters every core module, caching the result
 * by the sha256 of the component plus the metering options — in memory (per host:
 * nothing is shared between hosts) and, when a directory is given, on disk.
 * The memory cache is bounded, so a host that loads many different components
 * over its life does not keep every one's compiled code (a loaded plugin keeps
 * its own component alive regardless).
 */
export class ComponentCompiler {
  private readonly memory = new Map<string, Promise<CompiledComponent>>();

  constructor(
    private readonly cacheDir: string | undefined,
    private readonly maxMemoryEntries = MEMORY_CACHE_ENTRIES,
    private readonly loader: LoadWorker = new LoadWorker(),
    private readonly maxGlueBytes = MAX_GLUE_BYTES,
  ) {
    enableExtendedConst();
  }

  cacheKey(wasm: Uint8Array, options: CompileOptions): string {
    return sha256(
      `${PIPELINE_VERSION}\0${JCO_VERSION}\0${meteringVersion()}\0${options.maxMemoryBytes}\0${options.maxTableElements}\0${sha256(wasm)}`,
    );
  }

  compile(wasm: Uint8Array, options: CompileOptions): Promise<CompiledComponent> {
    const key = this.cacheKey(wasm, options);
    let p = this.memory.get(key);
    if (p) {
      // Most recently used last (a Map iterates in insertion order).
      this.memory.delete(key);
    } else {
      p = this.build(key, wasm, options);
      const built = p;
      built.catch(() => {
        if (this.memory.get(key) === built) this.memory.delete(key);
      });
    }
    this.memory.set(key, p);
    while (this.memory.size > this.maxMemoryEntries) {
      const oldest = this.memory.keys().next().value as string;
      this.memory.delete(oldest);
    }
    return p;
  }

  clear(): void {
    this.memory.clear();
  }

  /**
   * Whether the on-disk cache records that a component with this sha256 passed the world check
   * under this `wasi` mode (so a new host, e.g. the next `clawft-plugin run`, skips the load
   * worker's check: ~300 ms). The record is a file named by the sha256 of the pipeline, the
   * `wasi` mode and the component's digest: another component, another mode or another pipeline
   * never matches it (T89). It is trusted as the compiled entries beside it are: the cache folder
   * must be writable only by the host's user (see `HostOptions.cacheDir`).
   */
  async passedWorldCheck(digest: string, wasi: string): Promise<boolean> {
    if (!this.cacheDir) return false;
    return access(join(this.cacheDir, "checked", this.checkKey(digest, wasi))).then(
      () => true,
      () => false,
    );
  }

  /** Records a passed world check in the on-disk cache (best effort: a failed write only costs a re-check). */
  async recordWorldCheck(digest: string, wasi: string): Promise<void> {
    if (!this.cacheDir) return;
    const dir = join(this.cacheDir, "checked");
    await mkdir(dir, { recursive: true })
      .then(() => writeFile(join(dir, this.checkKey(digest, wasi)), ""))
      .catch((error: unknown) => debug("world-check record failed %s: %o", digest, error));
  }

  private checkKey(digest: string, wasi: string): string {
    return sha256(`world-check\0${PIPELINE_VERSION}\0${JCO_VERSION}\0${wasi}\0${digest}`);
  }

  /** Whether a compiled component for these bytes and options is in the memory cache. */
  has(wasm: Uint8Array, options: CompileOptions): boolean {
    return this.memory.has(this.cacheKey(wasm, options));
  }

  private async build(key: string, wasm: Uint8Array, options: CompileOptions): Promise<CompiledComponent> {
    if (this.cacheDir) {
      const cached = await this.readDisk(key).catch((error: unknown) => {
        debug("component cache miss %s: %o", key, error);
        return undefined;
      });
      if (cached) return cached;
    }
    // The transpile and the metering run in the load worker, never on this thread (T62).
    const prepared = await this.loader.prepare(wasm, { ...options, maxGlueBytes: this.maxGlueBytes });
    const compiled = await compileModules(key, prepared.glue, prepared.modules, prepared.metering, prepared.imports, prepared.hostFunctions, prepared.glueCodeCache);
    if (this.cacheDir) {
      await this.writeDisk(key, prepared).catch((error: unknown) => {
        debug("component cache write failed %s: %o", key, error);
      });
    }
    return compiled;
  }

  private async readDisk(key: string): Promise<CompiledComponent | undefined> {
    const dir = join(this.cacheDir as string, key);
    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as DiskIndex;
    if (index.version !== PIPELINE_VERSION) return undefined;
    const files: Record<string, Uint8Array> = {};
    for (const [name, hash] of Object.entries(index.files)) {
      if (!/^[\w.-]+$/.test(name)) return undefined;
      const bytes = await readFile(join(dir, name));
      // Integrity: a truncated or corrupted entry is ignored and rebuilt.
      if (sha256(bytes) !== hash) return undefined;
      files[name] = bytes;
    }
    const glueBytes = files["glue.js"];
    if (!glueBytes) return undefined;
    const modules: Record<string, Uint8Array> = {};
    for (const [name, bytes] of Object.entries(files)) if (name.endsWith(".wasm")) modules[name] = bytes;
    if (!Array.isArray(index.hostFunctions)) return undefined;
    return compileModules(key, Buffer.from(glueBytes).toString("utf8"), modules, index.metering, index.imports, index.hostFunctions, files["glue.cache"]);
  }

  /** Writes the entry into a temp folder, then renames it into place (atomic). */
  private async writeDisk(key: string, prepared: PreparedComponent): Promise<void> {
    const { glue, modules, metering, imports, hostFunctions, glueCodeCache } = prepared;
    const root = this.cacheDir as string;
    await mkdir(root, { recursive: true });
    const tmp = join(root, `.tmp-${key}-${randomBytes(6).toString("hex")}`);
    await mkdir(tmp);
    try {
      const files: Record<string, string> = {};
      await writeFile(join(tmp, "glue.js"), glue);
      files["glue.js"] = sha256(glue);
      for (const [name, bytes] of Object.entries(modules)) {
        await writeFile(join(tmp, name), bytes);
        files[name] = sha256(bytes);
      }
      if (glueCodeCache) {
        await writeFile(join(tmp, "glue.cache"), glueCodeCache);
        files["glue.cache"] = sha256(glueCodeCache);
      }
      const index: DiskIndex = { version: PIPELINE_VERSION, imports, hostFunctions, metering, files };
      await writeFile(join(tmp, "index.json"), JSON.stringify(index));
      const dest = join(root, key);
      const existing = await readdir(dest).catch(() => undefined);
      if (existing) await rm(dest, { recursive: true, force: true });
      await rename(tmp, dest);
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      throw error;
    }
  }
}

async function compileModules(
  key: string,
  glue: string,
  bytes: Record<string, Uint8Array>,
  metering: unknown,
  imports: string[],
  hostFunctions: string[],
  glueCodeCache: Uint8Array | undefined,
): Promise<CompiledComponent> {
  const modules: Record<string, WebAssembly.Module> = {};
  for (const [name, b] of Object.entries(bytes)) {
    try {
      modules[name] = await WebAssembly.compile(b as Uint8Array<ArrayBuffer>);
    } catch (error) {
      throw new PluginError("PLUGIN_INVALID", `core module ${name} failed to compile: ${errorText(error)}`, {
        cause: error,
      });
    }
  }
  return { key, glue, modules, metering, imports, hostFunctions, glueCodeCache };
}

/**
 * The load worker's part of compiling an uncached component (runtime/load-worker.ts):
 * jco's transpile, the glue size cap, metering of every core module and V8's code
 * cache of the glue. Never called on the main thread.
 */
export async function prepareComponent(wasm: Uint8Array, options: PrepareOptions): Promise<PreparedComponent> {
  enableExtendedConst();
  const steps: string[] = [];
  // The scan again, first: nothing the scan refuses is ever transpiled, even on a path that skipped the check.
  const { scanComponent, WitValidationError } = await import("@clawft/wit-bindings");
  let hostFunctions: string[];
  try {
    hostFunctions = [...scanComponent(wasm).hostImportFunctions];
  } catch (error) {
    if (WitValidationError.isInstance(error) && (error as { code: string }).code === "WIT_TOO_COMPLEX") {
      throw new PluginError("PLUGIN_TOO_COMPLEX", (error as Error).message, { cause: error });
    }
    throw new PluginError("PLUGIN_INVALID", `plugin component could not be transpiled: ${errorText(error)}`, { cause: error });
  }
  steps.push("scan");
  // The code generator is loaded on first use: a host whose components are all cached never loads it.
  const { transpileComponent } = await import("./runtime/transpile.js");
  let out: Awaited<ReturnType<typeof transpileComponent>>;
  try {
    out = await transpileComponent(wasm);
    steps.push("transpile");
  } catch (error) {
    throw new PluginError("PLUGIN_INVALID", `plugin component could not be transpiled: ${errorText(error)}`, {
      cause: error,
    });
  }
  const glueBytes = out.files["plugin.js"];
  if (!glueBytes) throw new PluginError("PLUGIN_INVALID", "plugin component could not be transpiled: no glue");
  /** Defence in depth behind the type scan: stops a worker being handed megabytes of generated code. */
  if (glueBytes.byteLength > options.maxGlueBytes) {
    throw new PluginError(
      "PLUGIN_TOO_COMPLEX",
      `component too complex: generated glue ${glueBytes.byteLength} bytes exceeds ${options.maxGlueBytes} (maxGlueBytes)`,
    );
  }
  const glue = patchGlue(Buffer.from(glueBytes).toString("utf8"));
  const metered: Record<string, Uint8Array> = {};
  const metering: Record<string, unknown> = {};
  for (const [name, bytes] of Object.entries(out.files)) {
    if (!name.endsWith(".wasm")) continue;
    const m = await meterCoreModule(bytes, options);
    metered[name] = m.bytes;
    metering[name] = m.meta;
    steps.push(`meter:${name}`);
  }
  const glueCodeCache = createGlueCodeCache(glue);
  steps.push("code-cache");
  return { glue, modules: metered, metering, imports: out.imports, hostFunctions, glueCodeCache, steps };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
