import { isAbsolute } from "node:path";
import {
  type AuditEvent,
  CidrList,
  RESOURCE_HARD_LIMITS,
  type ResourceLimits,
  SANDBOX_DEFAULTS,
  escapeControlText,
} from "@clawft/sandbox-policy";
import { HostOptionsError } from "./errors.js";
import type { JsEngineOption } from "./js-engine.js";
import type { HostLogger, PluginFileSystem, PluginHttpClient } from "./host-calls.js";
import type { PluginManifest } from "@clawft/sandbox-policy";

/** What a permission request passed to `approve` looks like (only what still needs consent). */
export interface ConsentRequest {
  pluginId: string;
  version: string;
  permissions: {
    network: string[];
    filesystem: string[];
    env_vars: string[];
    shell: boolean;
  };
}

/** The permissions a user already approved for a plugin (the shape of the manifest's `permissions`). */
export interface Approvals {
  network?: readonly string[];
  filesystem?: readonly string[];
  env_vars?: readonly string[];
  shell?: boolean;
}

/** What the sandbox factories receive for each plugin they serve. */
export interface SandboxContext {
  pluginId: string;
  version: string;
  manifest: PluginManifest;
  /** The effective limits (manifest values, lowered by the operator's `hardLimits`). */
  resources: Readonly<ResourceLimits>;
  /** The filesystem grants as absolute directories (relative ones resolved against the plugin folder). */
  filesystem: readonly string[];
  network: readonly string[];
  allowPrivateCidrs: readonly string[];
  resolve: ((hostname: string) => Promise<string[]>) | undefined;
}

/** User-supplied sandbox pieces: a custom host can replace any of them. */
export interface SandboxFactories {
  /**
   * Builds the filesystem a plugin's `read-file`/`write-file` go through.
   * @default `SandboxedFileSystem.create({ allowedPaths: ctx.filesystem })` from @clawft/sandbox-fs
   */
  createFileSystem?: (ctx: SandboxContext) => PluginFileSystem | Promise<PluginFileSystem>;
  /**
   * Builds the HTTP client a plugin's `http-request` goes through (one per plugin:
   * it holds the plugin's rate counter).
   * @default `new SandboxedHttpClient({...})` from @clawft/sandbox-http
   */
  createHttpClient?: (ctx: SandboxContext) => PluginHttpClient | Promise<PluginHttpClient>;
  /**
   * The environment `get-env` reads from (after the env rule allowed the name).
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Options of `createHost`. Every field is optional; unknown keys are refused. */
export interface HostOptions {
  /** Receives one event per host call, before the `executeTool` promise settles. Must not throw. */
  audit?: (event: AuditEvent) => void;
  /**
   * Where plugin logs and host warnings go.
   * @default a logger writing `[clawft <level>] <pluginId>: <message>` lines to stderr
   */
  logger?: HostLogger;
  /**
   * A folder for the compiled-component cache (transpiled glue and metered core
   * modules, keyed by sha256 of the component plus the metering options) and for the
   * world-check verdicts of components that passed it (keyed by their sha256 and the
   * `wasi` mode). Must be writable only by the host's user: its entries run unchecked.
   * @default none (in-memory cache only)
   */
  cacheDir?: string;
  /**
   * CIDR ranges whose private addresses plugins may reach anyway (e.g. a local
   * service). Only lifts the private-address refusal; allowlists still apply.
   * @default []
   */
  allowPrivateCidrs?: readonly string[];
  /**
   * Resolves host names for plugin HTTP requests.
   * @default the system resolver
   */
  resolve?: (hostname: string) => Promise<string[]>;
  /**
   * Largest module accepted, in bytes (may only be raised above the default).
   * @default 307200 (300 KiB)
   */
  maxModuleBytes?: number;
  /**
   * Largest module accepted after gzip, in bytes (may only be raised).
   * @default 122880 (120 KiB)
   */
  maxModuleGzipBytes?: number;
  /**
   * Operator caps on every plugin's resources: a manifest value above the cap is
   * lowered to it. Each cap must be positive and at most the design's hard maximum.
   * @default the hard maxima (RESOURCE_HARD_LIMITS)
   */
  hardLimits?: Partial<ResourceLimits>;
  /**
   * Asked at load for the permissions a plugin requests that `approvals` does not
   * cover. The plugin is refused (PLUGIN_CONSENT_DENIED) unless it returns true.
   * @default none: every permission not pre-approved is refused
   */
  approve?: (request: ConsentRequest) => boolean | Promise<boolean>;
  /** Replacements for the sandbox pieces (see "Composing a custom host" in the README). */
  sandbox?: SandboxFactories;
  /**
   * What to do with a component that imports `wasi:*` interfaces: `"refuse"` it at
   * load (PLUGIN_FORBIDDEN_IMPORT naming the import), or `"deny"`: serve the
   * deny-everything stubs (empty environment and arguments, no cwd, `exit` traps,
   * clocks and random allowed) and refuse any other WASI interface (filesystem,
   * sockets, streams...). Never jco's preview2 shim, which exposes the real
   * filesystem and environment.
   * @default "refuse"
   */
  wasi?: "refuse" | "deny";
  /**
   * Plugin workers kept started in advance (a Node worker takes 30–60 ms to boot).
   * A spare has no plugin, no grants and no guest code: it is given to exactly one
   * plugin (at load, or to replace a worker after a crash or timeout) and never
   * returned; a new spare is started at once. Each idle spare costs about one
   * worker's memory (~10 MiB). `0` starts every worker on demand.
   * @default 1
   */
  spareWorkers?: number;
  /**
   * Most core module instances one plugin instance may create (a component decides
   * how many it instantiates; each may define its own memory). The (N+1)th is
   * refused before it is created: the load fails with PLUGIN_TOO_MANY_INSTANCES.
   * At most 1000.
   * @default 64
   */
  maxCoreInstances?: number;
  /**
   * Most linear memories the core instances of one plugin instance may define
   * (imported memories are not counted again). Past it: PLUGIN_TOO_MANY_MEMORIES.
   * Their total size is bounded separately, by `max_memory_mb`. At most 100.
   * @default 8
   */
  maxMemories?: number;
  /**
   * Most tables the core instances of one plugin instance may define. Past it:
   * PLUGIN_TOO_MANY_TABLES. Their total size is bounded by `max_table_elements`.
   * At most 1000.
   * @default 32
   */
  maxTables?: number;
  /**
   * V8 limits of each plugin worker (Node's `resourceLimits`): the worker's JS heap
   * holds the jco glue and the strings it decodes out of guest memory. A worker that
   * hits them dies like a crash of that plugin (PLUGIN_CRASHED); the next call gets a
   * fresh instance. Linear memory is not on this heap (see `max_memory_mb`).
   * Each field within its ceiling: `maxOldGenerationSizeMb` 16–1024 (default 128),
   * `maxYoungGenerationSizeMb` 1–64 (default 16), `stackSizeMb` 1–16 (default 4).
   * @default { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 }
   */
  workerResourceLimits?: WorkerResourceLimits;
  /**
   * Hibernation: a plugin with no call queued or running for this many milliseconds
   * has its worker stopped; its next call boots a fresh instance from the compiled
   * component (kept in memory) and runs `init` again, like after a fault. The guest's
   * memory is not kept: a plugin that needs state across calls must not be
   * hibernated. Per-plugin limits (rate windows, grants, audit) are the host's and
   * carry on across the cycle. `0` never hibernates. At most 2147483647 (~24.8 days).
   * @default 0 (off: hibernation changes what a plugin may expect of its own memory,
   * so the operator turns it on)
   */
  idleTimeoutMs?: number;
  /**
   * The JS engine component that runs plugins whose manifest says `"runtime": "js"`:
   * `{ bytes, sha256 }` or a function returning it (called once, on the first js plugin).
   * Checked against its sha256 (PLUGIN_JS_ENGINE_TAMPERED), compiled once per host and
   * cached by digest. Trusted code: exempt from the module size limits, which apply to each
   * plugin's own JS.
   * @default `jsEngine()` of the optional peer dependency `@clawft/plugin-js`, imported on the first js plugin (PLUGIN_JS_ENGINE_MISSING when it is not installed)
   */
  jsEngine?: JsEngineOption;
}

/** The V8 limits of a plugin worker (a subset of Node's `ResourceLimits`), in MiB. */
export interface WorkerResourceLimits {
  /** @default 128 */
  maxOldGenerationSizeMb?: number;
  /** @default 16 */
  maxYoungGenerationSizeMb?: number;
  /** @default 4 */
  stackSizeMb?: number;
}

/** Defaults and ceilings of the per-instance counts and the worker's V8 limits. */
export const INSTANCE_LIMITS = Object.freeze({
  defaultMaxCoreInstances: 64,
  hardMaxCoreInstances: 1000,
  defaultMaxMemories: 8,
  hardMaxMemories: 100,
  defaultMaxTables: 32,
  hardMaxTables: 1000,
  worker: Object.freeze({
    maxOldGenerationSizeMb: Object.freeze({ default: 128, min: 16, max: 1024 }),
    maxYoungGenerationSizeMb: Object.freeze({ default: 16, min: 1, max: 64 }),
    stackSizeMb: Object.freeze({ default: 4, min: 1, max: 16 }),
  }),
});

/** The frozen, validated form of `HostOptions`. */
export interface ResolvedHostOptions {
  readonly audit: ((event: AuditEvent) => void) | undefined;
  readonly logger: HostLogger;
  readonly cacheDir: string | undefined;
  readonly allowPrivateCidrs: readonly string[];
  readonly resolve: ((hostname: string) => Promise<string[]>) | undefined;
  readonly maxModuleBytes: number;
  readonly maxModuleGzipBytes: number;
  readonly hardLimits: Readonly<ResourceLimits>;
  readonly approve: ((request: ConsentRequest) => boolean | Promise<boolean>) | undefined;
  readonly sandbox: Readonly<SandboxFactories>;
  readonly wasi: "refuse" | "deny";
  readonly spareWorkers: number;
  readonly maxCoreInstances: number;
  readonly maxMemories: number;
  readonly maxTables: number;
  readonly workerResourceLimits: Readonly<Required<WorkerResourceLimits>>;
  readonly idleTimeoutMs: number;
  readonly jsEngine: JsEngineOption | undefined;
}

/** Largest `idleTimeoutMs` (a Node timer's maximum delay). */
export const MAX_IDLE_TIMEOUT_MS = 2_147_483_647;

/** Most spare workers a host keeps (each costs a worker's memory). */
export const MAX_SPARE_WORKERS = 8;

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  "audit",
  "logger",
  "cacheDir",
  "allowPrivateCidrs",
  "resolve",
  "maxModuleBytes",
  "maxModuleGzipBytes",
  "hardLimits",
  "approve",
  "sandbox",
  "wasi",
  "spareWorkers",
  "maxCoreInstances",
  "maxMemories",
  "maxTables",
  "workerResourceLimits",
  "idleTimeoutMs",
  "jsEngine",
]);
const SANDBOX_KEYS: ReadonlySet<string> = new Set(["createFileSystem", "createHttpClient", "env"]);
const LIMIT_KEYS = Object.keys(RESOURCE_HARD_LIMITS) as (keyof ResourceLimits)[];
const LOGGER_METHODS = ["error", "warn", "info", "debug", "trace"] as const;

/**
 * One line of the default logger. The plugin id and the message go through
 * `escapeControlText`: stops a plugin from forging a line of another plugin
 * (`\n[clawft error] other.plugin: ...`), and from hiding or recolouring lines
 * with ANSI/OSC escapes, NUL or bidi overrides. Every call writes exactly one line
 * that starts with the true `[clawft <level>] <plugin id>:` prefix.
 */
export function formatLogLine(level: keyof HostLogger, message: string, pluginId: string): string {
  return `[clawft ${level}] ${escapeControlText(String(pluginId))}: ${escapeControlText(String(message))}\n`;
}

const writeLine =
  (level: keyof HostLogger) =>
  (m: string, meta: { pluginId: string }): void => {
    process.stderr.write(formatLogLine(level, m, meta.pluginId));
  };

/** The default logger: one line per message on stderr (see `formatLogLine`). */
export const stderrLogger: HostLogger = Object.freeze({
  error: writeLine("error"),
  warn: writeLine("warn"),
  info: writeLine("info"),
  debug: writeLine("debug"),
  trace: writeLine("trace"),
}) as HostLogger;

function fn(field: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") throw new HostOptionsError(`${field} must be a function`);
}

function positiveInt(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new HostOptionsError(`${field} must be a positive integer`);
  }
  return value;
}

/** Validates `createHost` options once and freezes them; every error names the field. */
export function resolveHostOptions(options: HostOptions | undefined): ResolvedHostOptions {
  const o = (options ?? {}) as Record<string, unknown>;
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new HostOptionsError("options must be an object");
  for (const key of Object.keys(o)) {
    if (!KNOWN_KEYS.has(key)) throw new HostOptionsError(`unknown option: ${key}`);
  }
  fn("audit", o.audit);
  fn("resolve", o.resolve);
  fn("approve", o.approve);
  let logger = stderrLogger;
  if (o.logger !== undefined) {
    const l = o.logger as Record<string, unknown>;
    if (typeof l !== "object" || l === null) throw new HostOptionsError("logger must be an object");
    for (const m of LOGGER_METHODS) {
      if (typeof l[m] !== "function") throw new HostOptionsError(`logger.${m} must be a function`);
    }
    logger = o.logger as HostLogger;
  }
  if (o.cacheDir !== undefined) {
    if (typeof o.cacheDir !== "string" || o.cacheDir.length === 0 || o.cacheDir.includes("\0")) {
      throw new HostOptionsError("cacheDir must be a non-empty path");
    }
    if (!isAbsolute(o.cacheDir)) throw new HostOptionsError("cacheDir must be an absolute path");
  }
  let cidrs: readonly string[] = [];
  if (o.allowPrivateCidrs !== undefined) {
    if (!Array.isArray(o.allowPrivateCidrs)) throw new HostOptionsError("allowPrivateCidrs must be an array of CIDR strings");
    // The same parser the sandboxes match with (one rule for what a valid range is).
    try {
      cidrs = new CidrList(o.allowPrivateCidrs as string[]).cidrs;
    } catch (cause) {
      throw new HostOptionsError(cause instanceof Error ? cause.message : "allowPrivateCidrs is invalid", { cause });
    }
  }
  const maxModuleBytes =
    o.maxModuleBytes === undefined ? SANDBOX_DEFAULTS.moduleBytes : positiveInt("maxModuleBytes", o.maxModuleBytes);
  if (maxModuleBytes < SANDBOX_DEFAULTS.moduleBytes) {
    throw new HostOptionsError(`maxModuleBytes can only raise the limit (default ${SANDBOX_DEFAULTS.moduleBytes})`);
  }
  const maxModuleGzipBytes =
    o.maxModuleGzipBytes === undefined
      ? SANDBOX_DEFAULTS.moduleGzipBytes
      : positiveInt("maxModuleGzipBytes", o.maxModuleGzipBytes);
  if (maxModuleGzipBytes < SANDBOX_DEFAULTS.moduleGzipBytes) {
    throw new HostOptionsError(
      `maxModuleGzipBytes can only raise the limit (default ${SANDBOX_DEFAULTS.moduleGzipBytes})`,
    );
  }
  const hardLimits: ResourceLimits = { ...RESOURCE_HARD_LIMITS };
  if (o.hardLimits !== undefined) {
    const h = o.hardLimits as Record<string, unknown>;
    if (typeof h !== "object" || h === null) throw new HostOptionsError("hardLimits must be an object");
    for (const key of Object.keys(h)) {
      if (!(LIMIT_KEYS as string[]).includes(key)) throw new HostOptionsError(`unknown option: hardLimits.${key}`);
      const v = h[key];
      if (v === undefined) continue;
      const n = positiveInt(`hardLimits.${key}`, v);
      const max = RESOURCE_HARD_LIMITS[key as keyof ResourceLimits];
      if (n > max) throw new HostOptionsError(`hardLimits.${key} must be at most ${max} (it can only lower the hard limit)`);
      hardLimits[key as keyof ResourceLimits] = n;
    }
  }
  let sandbox: SandboxFactories = {};
  if (o.sandbox !== undefined) {
    const s = o.sandbox as Record<string, unknown>;
    if (typeof s !== "object" || s === null) throw new HostOptionsError("sandbox must be an object");
    for (const key of Object.keys(s)) {
      if (!SANDBOX_KEYS.has(key)) throw new HostOptionsError(`unknown option: sandbox.${key}`);
    }
    fn("sandbox.createFileSystem", s.createFileSystem);
    fn("sandbox.createHttpClient", s.createHttpClient);
    if (s.env !== undefined && (typeof s.env !== "object" || s.env === null)) {
      throw new HostOptionsError("sandbox.env must be an object");
    }
    sandbox = Object.freeze({ ...(s as SandboxFactories) });
  }
  if (o.wasi !== undefined && o.wasi !== "refuse" && o.wasi !== "deny") {
    throw new HostOptionsError('wasi must be "refuse" or "deny"');
  }
  let spareWorkers = 1;
  if (o.spareWorkers !== undefined) {
    const n = o.spareWorkers;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > MAX_SPARE_WORKERS) {
      throw new HostOptionsError(`spareWorkers must be an integer from 0 to ${MAX_SPARE_WORKERS}`);
    }
    spareWorkers = n;
  }
  const maxCoreInstances = boundedInt("maxCoreInstances", o.maxCoreInstances, INSTANCE_LIMITS.defaultMaxCoreInstances, 1, INSTANCE_LIMITS.hardMaxCoreInstances);
  const maxMemories = boundedInt("maxMemories", o.maxMemories, INSTANCE_LIMITS.defaultMaxMemories, 1, INSTANCE_LIMITS.hardMaxMemories);
  const maxTables = boundedInt("maxTables", o.maxTables, INSTANCE_LIMITS.defaultMaxTables, 1, INSTANCE_LIMITS.hardMaxTables);
  const w = (o.workerResourceLimits ?? {}) as Record<string, unknown>;
  if (typeof w !== "object" || w === null || Array.isArray(w)) throw new HostOptionsError("workerResourceLimits must be an object");
  const workerKeys = Object.keys(INSTANCE_LIMITS.worker) as (keyof WorkerResourceLimits)[];
  for (const key of Object.keys(w)) {
    if (!(workerKeys as string[]).includes(key)) throw new HostOptionsError(`unknown option: workerResourceLimits.${key}`);
  }
  const workerResourceLimits = {} as Required<WorkerResourceLimits>;
  for (const key of workerKeys) {
    const { default: d, min, max } = INSTANCE_LIMITS.worker[key];
    workerResourceLimits[key] = boundedInt(`workerResourceLimits.${key}`, w[key], d, min, max);
  }
  const idleTimeoutMs = boundedInt("idleTimeoutMs", o.idleTimeoutMs, 0, 0, MAX_IDLE_TIMEOUT_MS);
  if (o.jsEngine !== undefined && typeof o.jsEngine !== "function" && (typeof o.jsEngine !== "object" || o.jsEngine === null)) {
    throw new HostOptionsError("jsEngine must be { bytes, sha256 } or a function returning it");
  }
  return Object.freeze({
    jsEngine: o.jsEngine as JsEngineOption | undefined,
    audit: o.audit as ResolvedHostOptions["audit"],
    logger,
    cacheDir: o.cacheDir as string | undefined,
    allowPrivateCidrs: Object.freeze(cidrs),
    resolve: o.resolve as ResolvedHostOptions["resolve"],
    maxModuleBytes,
    maxModuleGzipBytes,
    hardLimits: Object.freeze(hardLimits),
    approve: o.approve as ResolvedHostOptions["approve"],
    sandbox,
    wasi: (o.wasi as "refuse" | "deny" | undefined) ?? "refuse",
    spareWorkers,
    maxCoreInstances,
    maxMemories,
    maxTables,
    workerResourceLimits: Object.freeze(workerResourceLimits),
    idleTimeoutMs,
  });
}

function boundedInt(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new HostOptionsError(`${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}
