import { createHash } from "node:crypto";
import { readFile, mkdir, realpath } from "node:fs/promises";
import { isAbsolute, join, resolve as resolvePath, sep } from "node:path";
import { debuglog } from "node:util";
import {
  ManifestError,
  PluginSandbox,
  type PluginManifest,
  type ResourceLimits,
  diffPermissions,
  manifestEntryFile,
  manifestRuntime,
  parseManifestWithWarnings,
} from "@clawft/sandbox-policy";
import { SandboxedFileSystem } from "@clawft/sandbox-fs";
import { SandboxedHttpClient } from "@clawft/sandbox-http";
import { ComponentCompiler, type CompiledComponent } from "./compile.js";
import { PluginError } from "./errors.js";
import { decodeJsPayload, loadJsEngine, type JsEngine } from "./js-engine.js";
import { moduleSizeProblemAsync } from "./module-size.js";
import { HostCallHandler, type HostCallSession, type PluginFileSystem, type PluginHttpClient } from "./host-calls.js";
import {
  type Approvals,
  type HostOptions,
  type ResolvedHostOptions,
  type SandboxContext,
  resolveHostOptions,
} from "./options.js";
import { LoadWorker } from "./load-worker-client.js";
import { parseDescribeJson, type PluginDescription } from "./validate.js";
import { ResourceExhaustedError } from "./metering.js";
import type { Worker } from "node:worker_threads";
import { SpareWorkers } from "./runtime/spare-workers.js";
import { GUEST_TEXT_WIRE_MAX_BYTES, cutGuestText } from "./runtime/result-bounds.js";
import { type Outcome, WorkerRuntime } from "./runtime/worker-runtime.js";
import { raceWallClock } from "./runtime/wall-clock.js";
import { IdleTracker } from "./runtime/idle-tracker.js";
import { publishWorkerEvent } from "./runtime/spare-workers.js";
import type { InstanceLimitCode, InstanceLimits } from "./runtime/meter.js";
import type { FaultInfo, JsPayload } from "./runtime/protocol.js";

const debug = debuglog("clawft");
/** Guest text arriving from a worker, cut again on the main thread (the worker already cut it to 4 KiB). */
const guestText = (text: string): string => cutGuestText(text, GUEST_TEXT_WIRE_MAX_BYTES);
/**
 * Extra time a fresh worker gets to start (thread, glue import, instantiation)
 * on top of the plugin's wall-clock limit, which then covers `init`: starting a
 * thread on a busy machine must not count against the plugin.
 */
const STARTUP_ALLOWANCE_MS = 10_000;
/** Largest params-json sent to a guest (it must also fit in the guest's memory, 16 MiB by default). */
const MAX_PARAMS_CHARS = 8 * 1024 * 1024;

/** What `load` takes: a component plugin's bytes (`wasm`) or a js plugin's bundled JS (`js`), as its manifest's `runtime` says. */
export type LoadInput = ComponentLoadInput | JsLoadInput;

/** `load` of a plugin whose manifest has no `runtime` or `"runtime": "component"`. */
export interface ComponentLoadInput extends LoadInputBase {
  /** The component's bytes. */
  wasm: Uint8Array;
  js?: never;
}

/**
 * `load` of a plugin whose manifest says `"runtime": "js"`: its bundled JS (one CommonJS
 * file; `require("host")` is the world's host import, `module.exports.plugin` the plugin),
 * run by the host's JS engine (see the `jsEngine` option).
 */
export interface JsLoadInput extends LoadInputBase {
  /** The bundled JS: text, or its UTF-8 bytes (what the size limits and the signature cover). */
  js: string | Uint8Array;
  wasm?: never;
}

/** What every `load` input has. */
export interface LoadInputBase {
  /** The manifest (`clawft.plugin.json`) as an object or JSON text. */
  manifest: unknown;
  /** Permissions the user already approved (the shape of `permissions`). */
  approvals?: Approvals;
  /**
   * The plugin's folder: relative filesystem grants resolve against it.
   * `loadFromDirectory` sets it. Without it, relative grants are refused.
   */
  baseDir?: string;
}

/** Resource use of a plugin's last call. */
export interface PluginUsage {
  /** Fuel units the call used. */
  fuelUsed: number;
  /** Size of the guest's linear memory at the end of the call (bytes; memory only grows). */
  peakMemoryBytes: number;
  /** Host calls the guest made. */
  hostCalls: number;
  /** Wall-clock time of the call, host calls included (and the boot, when it `woke` the plugin). */
  durationMs: number;
  /**
   * True when the call found the plugin hibernated (`idleTimeoutMs`): a fresh instance
   * was booted for it, its `init` run again, and the guest's earlier memory is gone.
   */
  woke: boolean;
}

/** A loaded plugin. */
export interface Plugin {
  /** The manifest's `id`. */
  readonly id: string;
  /** The manifest's `version`. */
  readonly version: string;
  /** The validated manifest (defaults filled in). */
  readonly manifest: PluginManifest;
  /** The effective resource limits of each call. */
  readonly resources: Readonly<ResourceLimits>;
  /** What the plugin's `describe()` returned at load, parsed and validated. */
  describe(): PluginDescription;
  /**
   * Runs a tool. `params` is any JSON value (sent as `params-json`); resolves to the
   * result parsed from JSON, or the raw string when it is not JSON. Calls on one
   * plugin are queued: they run one at a time, in order.
   */
  executeTool(name: string, params?: unknown): Promise<unknown>;
  /** Usage of the last finished call (zeros before the first). */
  readonly usage: Readonly<PluginUsage>;
  /** How many times this plugin was hibernated (its worker stopped after `idleTimeoutMs` idle). */
  readonly hibernations: number;
  /** Ends the plugin's worker; later calls reject with PLUGIN_CLOSED. */
  close(): Promise<void>;
}

/** A plugin host. */
export interface Host {
  load(input: LoadInput): Promise<Plugin>;
  /** Loads `clawft.plugin.json` and its `wasm_module` (or, for `"runtime": "js"`, its `main`) from a folder. */
  loadFromDirectory(dir: string, options?: { approvals?: Approvals }): Promise<Plugin>;
  /** Closes every plugin this host loaded. */
  close(): Promise<void>;
}

/** Creates a plugin host. Bad options throw a HostOptionsError naming the field. */
export function createHost(options?: HostOptions): Host {
  return new PluginHost(resolveHostOptions(options));
}

class PluginHost implements Host {
  private readonly compiler: ComponentCompiler;
  private readonly plugins = new Set<PluginHandle>();
  /** sha256 of components that passed the world check (per host: nothing shared between hosts). */
  private readonly validated = new Set<string>();
  private closed = false;
  /** Workers started ahead of need; shared by this host's plugins, each worker given to one plugin only. */
  private readonly workers: SpareWorkers;

  /** The JS engine (checked against its digest), once a js plugin asked for it. */
  private engine: Promise<JsEngine> | undefined;

  /** The worker thread that checks, transpiles and meters this host's uncached components (T62). */
  private readonly loader = new LoadWorker();

  constructor(private readonly options: ResolvedHostOptions) {
    this.compiler = new ComponentCompiler(options.cacheDir, undefined, this.loader);
    this.workers = new SpareWorkers(options.spareWorkers, options.workerResourceLimits);
  }

  async loadFromDirectory(dir: string, opts: { approvals?: Approvals } = {}): Promise<Plugin> {
    if (typeof dir !== "string" || dir.length === 0) throw new TypeError("dir must be a non-empty path");
    const root = await realpath(dir).catch((cause: unknown) => {
      throw new PluginError("PLUGIN_INVALID", `plugin folder not found: ${dir}`, { cause });
    });
    const text = await readFile(join(root, "clawft.plugin.json"), "utf8").catch((cause: unknown) => {
      throw new PluginError("PLUGIN_INVALID_MANIFEST", `cannot read ${join(root, "clawft.plugin.json")}`, { cause });
    });
    const { manifest } = this.parseManifest(text);
    const js = manifestRuntime(manifest) === "js";
    const field = js ? "main" : "wasm_module";
    const entry = manifestEntryFile(manifest);
    if (!entry) {
      throw new PluginError("PLUGIN_INVALID_MANIFEST", `invalid plugin manifest: ${field}: required to load from a folder`, {
        pluginId: manifest.id,
      });
    }
    // The entry file must live inside the plugin folder (no absolute path, no `..`, no symlink out).
    const entryPath = await realpath(resolvePath(root, entry)).catch((cause: unknown) => {
      throw new PluginError("PLUGIN_INVALID", `${field} not found: ${entry}`, { cause });
    });
    if (isAbsolute(entry) || !entryPath.startsWith(root + sep)) {
      throw new PluginError("PLUGIN_INVALID_MANIFEST", `invalid plugin manifest: ${field}: must be a path inside the plugin folder`, {
        pluginId: manifest.id,
      });
    }
    const bytes = await readFile(entryPath);
    const input: LoadInput = js ? { manifest: text, js: bytes, baseDir: root } : { manifest: text, wasm: bytes, baseDir: root };
    if (opts.approvals) input.approvals = opts.approvals;
    return this.load(input);
  }

  /**
   * The bundled JS of a js plugin (undefined for a component plugin). The input must carry
   * the kind of code the manifest's runtime says: a component passed for a js manifest (or
   * JS for a component manifest) is refused, never run as the other kind.
   */
  private jsPayloadOf(input: LoadInput, manifest: PluginManifest): { text: string; bytes: Uint8Array } | undefined {
    const pluginId = manifest.id;
    const runtime = manifestRuntime(manifest);
    if (runtime === "js") {
      if (input.wasm !== undefined) {
        throw new PluginError("PLUGIN_INVALID", 'manifest says "runtime": "js": pass its bundled JS as js, not wasm', { pluginId });
      }
      if (input.js === undefined) throw new PluginError("PLUGIN_INVALID", "js must be a string or a Uint8Array", { pluginId });
      return decodeJsPayload(input.js, pluginId);
    }
    if (input.js !== undefined) {
      throw new PluginError("PLUGIN_INVALID", 'js needs a manifest with "runtime": "js" (this one runs a component: pass wasm)', { pluginId });
    }
    return undefined;
  }

  /** The host's JS engine, fetched and checked once (a failure is not kept: a later load tries again). */
  private jsEngine(): Promise<JsEngine> {
    if (!this.engine) {
      const pending = loadJsEngine(this.options.jsEngine);
      this.engine = pending;
      pending.catch(() => {
        if (this.engine === pending) this.engine = undefined;
      });
    }
    return this.engine;
  }

  private parseManifest(input: unknown): { manifest: PluginManifest; warnings: string[] } {
    try {
      return parseManifestWithWarnings(input);
    } catch (cause) {
      if (ManifestError.isInstance(cause)) {
        throw new PluginError("PLUGIN_INVALID_MANIFEST", cause.message, { cause });
      }
      throw cause;
    }
  }

  async load(input: LoadInput): Promise<Plugin> {
    if (this.closed) throw new PluginError("PLUGIN_CLOSED", "host is closed");
    if (typeof input !== "object" || input === null) throw new TypeError("load() takes { manifest, wasm | js, approvals?, baseDir? }");
    const { manifest, warnings } = this.parseManifest(input.manifest);
    const pluginId = manifest.id;
    for (const w of warnings) this.options.logger.warn(`manifest: ${w}`, { pluginId });
    const js = this.jsPayloadOf(input, manifest);
    if (!js && !(input.wasm instanceof Uint8Array)) {
      throw new PluginError("PLUGIN_INVALID", "wasm must be a Uint8Array", { pluginId });
    }
    // Size limits (T36, T80): stop a huge module before any parsing, transpiling or compiling.
    // For a js plugin they bound its own JS: the engine is trusted and exempt.
    // Async: the gzip runs on zlib's thread pool, not this thread (~100 ms for a 1 MB component).
    const tooLarge = await moduleSizeProblemAsync(js ? js.bytes : (input.wasm as Uint8Array), this.options);
    if (tooLarge) throw new PluginError("PLUGIN_TOO_LARGE", tooLarge, { pluginId });
    // A js plugin runs in its own instance of the host's engine component (T83: checked against its digest).
    const wasm = js ? (await this.jsEngine()).bytes : (input.wasm as Uint8Array);
    // Without a spare waiting, the plugin's worker starts booting now, in parallel with
    // the checks, the transpile and the metering below (a Node worker needs 30-100 ms
    // to start). With one, the spare is taken at the end (its replacement then boots
    // beside the instance's init rather than beside the metering). A worker taken here
    // is ended if the load fails before the plugin owns it.
    let worker: Worker | undefined = this.workers.hasSpare ? undefined : this.workers.take();
    try {
      const t0 = performance.now();
      // The world check's verdict depends only on the bytes: a component that passed once is not re-checked.
      // The engine is checked as an engine (it must export load-plugin-source), a plugin's
      // component as a plugin's (it must not): two verdicts, never shared.
      const digest = `${js ? "js-engine" : "component"}:${createHash("sha256").update(wasm).digest("hex")}`;
      if (!this.validated.has(digest)) {
        // A verdict recorded in the on-disk cache (cacheDir) counts too (T89); its key carries the kind.
        if (!(await this.compiler.passedWorldCheck(digest, this.options.wasi))) {
          // In the load worker: the scan and jco's decoder never run on this thread.
          await this.loader.check(wasm, pluginId, this.options.wasi, js !== undefined);
          await this.compiler.recordWorldCheck(digest, this.options.wasi);
        }
        this.validated.add(digest);
      }
      const t1 = performance.now();

      const approvals = input.approvals ?? {};
      const consented = await this.consent(manifest, approvals, input.baseDir);

      const approvedEnv = [...(approvals.env_vars ?? []), ...consented.env_vars];
      // The plugin's own security context: fresh counters, nothing shared (T43, T44).
      const sandbox = PluginSandbox.fromManifest(manifest, {
        approvals: { env_vars: approvedEnv, shell: approvals.shell === true || consented.shell },
        overrides: { resources: this.options.hardLimits, allowPrivateCidrs: this.options.allowPrivateCidrs },
      });
      const resources = sandbox.resources;
      const filesystem = await this.resolveGrants(manifest, input.baseDir);
      const ctx: SandboxContext = {
        pluginId,
        version: manifest.version,
        manifest,
        resources,
        filesystem,
        network: Object.freeze([...manifest.permissions.network]),
        allowPrivateCidrs: this.options.allowPrivateCidrs,
        resolve: this.options.resolve,
      };
      const fs = await this.createFileSystem(ctx);
      const http = await this.createHttpClient(ctx);

      const compiled = await this.compiler.compile(wasm, {
        maxMemoryBytes: resources.maxMemoryMb * 1024 * 1024,
        maxTableElements: resources.maxTableElements,
      });
      const t2 = performance.now();
      const handler = new HostCallHandler({
        pluginId,
        fs,
        http,
        sandbox,
        env: this.options.sandbox.env ?? process.env,
        logger: this.options.logger,
        audit: this.options.audit,
        maxWriteBytes: 4 * 1024 * 1024,
        maxRequestBytes: 1024 * 1024,
      });
      const limits: InstanceLimits = Object.freeze({
        maxMemoryBytes: resources.maxMemoryMb * 1024 * 1024,
        maxTableElements: resources.maxTableElements,
        maxCoreInstances: this.options.maxCoreInstances,
        maxMemories: this.options.maxMemories,
        maxTables: this.options.maxTables,
      });
      const jsPayload = js ? { source: js.text, fileName: manifest.main ?? "plugin.js" } : undefined;
      const handle = new PluginHandle(
        manifest,
        resources,
        limits,
        compiled,
        handler,
        http,
        this.workers,
        worker,
        jsPayload,
        () => this.plugins.delete(handle),
        this.options.idleTimeoutMs,
      );
      worker = undefined; // the handle owns it now
      try {
        await handle.start();
      } catch (error) {
        await handle.close();
        throw error;
      }
      if (this.closed) {
        // The host was closed while this plugin was loading: never leave its worker behind.
        await handle.close();
        throw new PluginError("PLUGIN_CLOSED", "host was closed during the load", { pluginId });
      }
      this.plugins.add(handle);
      debug(
        "loaded %s: check %dms, compile %dms, start %dms",
        pluginId,
        Math.round(t1 - t0),
        Math.round(t2 - t1),
        Math.round(performance.now() - t2),
      );
      return handle;
    } finally {
      if (worker) this.workers.discard(worker);
    }
  }

  /**
   * Consent at load (T39–T41): whatever the manifest asks for beyond `approvals`
   * goes to `approve`; without a yes the plugin is refused. Shell is never granted
   * without approval (this host offers no shell import at all).
   */
  private async consent(
    manifest: PluginManifest,
    approvals: Approvals,
    baseDir: string | undefined,
  ): Promise<{ env_vars: string[]; shell: boolean }> {
    const diff = diffPermissions(
      {
        network: [...(approvals.network ?? [])],
        filesystem: [...(approvals.filesystem ?? [])],
        env_vars: [...(approvals.env_vars ?? [])],
        shell: approvals.shell === true,
      },
      manifest.permissions,
    );
    if (!diff.hasNew) return { env_vars: [], shell: false };
    const request = {
      pluginId: manifest.id,
      version: manifest.version,
      permissions: { network: diff.network, filesystem: diff.filesystem, env_vars: diff.env_vars, shell: diff.shell },
    };
    const wanted = describePermissions(request.permissions, baseDir);
    if (!this.options.approve) {
      throw new PluginError("PLUGIN_CONSENT_DENIED", `consent required and no approve callback: ${wanted}`, {
        pluginId: manifest.id,
      });
    }
    let answer: unknown;
    try {
      answer = await this.options.approve(request);
    } catch (cause) {
      throw new PluginError("PLUGIN_CONSENT_DENIED", `consent denied (approve failed): ${wanted}`, {
        pluginId: manifest.id,
        cause,
      });
    }
    if (answer !== true) {
      throw new PluginError("PLUGIN_CONSENT_DENIED", `consent denied: ${wanted}`, { pluginId: manifest.id });
    }
    return { env_vars: diff.env_vars, shell: diff.shell };
  }

  /**
   * Filesystem grants: absolute paths as written (they must exist); relative ones
   * resolve against the plugin's folder and are created there if missing. A
   * relative grant that would leave the plugin folder, or with no folder known, is refused.
   */
  private async resolveGrants(manifest: PluginManifest, baseDir: string | undefined): Promise<string[]> {
    const out: string[] = [];
    for (const [i, entry] of manifest.permissions.filesystem.entries()) {
      if (isAbsolute(entry)) {
        out.push(entry);
        continue;
      }
      if (!baseDir) {
        throw new PluginError(
          "PLUGIN_INVALID_MANIFEST",
          `invalid plugin manifest: permissions.filesystem[${i}]: a relative path needs the plugin folder (use loadFromDirectory or baseDir)`,
          { pluginId: manifest.id },
        );
      }
      const abs = resolvePath(baseDir, entry);
      if (abs !== baseDir && !abs.startsWith(baseDir + sep)) {
        throw new PluginError(
          "PLUGIN_INVALID_MANIFEST",
          `invalid plugin manifest: permissions.filesystem[${i}]: a relative path must stay inside the plugin folder`,
          { pluginId: manifest.id },
        );
      }
      await mkdir(abs, { recursive: true, mode: 0o700 });
      out.push(abs);
    }
    return out;
  }

  private async createFileSystem(ctx: SandboxContext): Promise<PluginFileSystem | undefined> {
    const factory = this.options.sandbox.createFileSystem;
    if (factory) return factory(ctx);
    if (ctx.filesystem.length === 0) return undefined;
    try {
      return await SandboxedFileSystem.create({ allowedPaths: ctx.filesystem });
    } catch (cause) {
      throw new PluginError("PLUGIN_INVALID", `filesystem grant unusable: ${(cause as Error).message}`, {
        pluginId: ctx.pluginId,
        cause,
      });
    }
  }

  private async createHttpClient(ctx: SandboxContext): Promise<PluginHttpClient> {
    const factory = this.options.sandbox.createHttpClient;
    if (factory) return factory(ctx);
    const options: ConstructorParameters<typeof SandboxedHttpClient>[0] = {
      pluginId: ctx.pluginId,
      pluginVersion: ctx.version,
      network: ctx.network,
      maxRequestsPerMinute: ctx.resources.maxHttpRequestsPerMinute,
      timeoutMs: Math.min(30_000, ctx.resources.maxExecutionSeconds * 1000),
      allowPrivateCidrs: ctx.allowPrivateCidrs,
    };
    if (ctx.resolve) options.resolve = ctx.resolve;
    return new SandboxedHttpClient(options);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.plugins].map((p) => p.close()));
    await this.workers.close();
    this.compiler.clear();
    await this.loader.close();
  }
}

/**
 * The permissions of a consent error, in full. Relative filesystem grants are shown as the
 * absolute folder they become under `baseDir` (T63): the message names what was refused.
 */
function describePermissions(
  p: { network: string[]; filesystem: string[]; env_vars: string[]; shell: boolean },
  baseDir: string | undefined,
): string {
  const parts: string[] = [];
  if (p.shell) parts.push("shell");
  if (p.network.length) parts.push(`network ${p.network.join(", ")}`);
  const paths = p.filesystem.map((entry) => (isAbsolute(entry) || !baseDir ? entry : resolvePath(baseDir, entry)));
  if (paths.length) parts.push(`filesystem ${paths.join(", ")}`);
  if (p.env_vars.length) parts.push(`env vars ${p.env_vars.join(", ")}`);
  return parts.join("; ");
}

/** One guest instance: its worker and its side of the plugin's host-call handler. */
interface Instance {
  runtime: WorkerRuntime;
  session: HostCallSession;
}

const ZERO_USAGE: PluginUsage = Object.freeze({ fuelUsed: 0, peakMemoryBytes: 0, hostCalls: 0, durationMs: 0, woke: false });

/** A loaded plugin: one worker at a time, calls queued, limits enforced per call. */
class PluginHandle implements Plugin {
  readonly id: string;
  readonly version: string;
  private description: PluginDescription | undefined;
  private toolNames = new Set<string>();
  private instance: Instance | undefined;
  /** The next instance, booting or booted in advance (see prepareReplacement). */
  private replacement: Promise<Instance> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private lastUsage: PluginUsage = ZERO_USAGE;
  /** Counts queued calls and hibernates the plugin after `idleTimeoutMs` with none. */
  private readonly idle: IdleTracker;
  /** True from a hibernation until the call that wakes the plugin. */
  private hibernated = false;
  private hibernationCount = 0;

  constructor(
    readonly manifest: PluginManifest,
    readonly resources: Readonly<ResourceLimits>,
    /** What each instance may create and hold: summed memory and tables, core instances, memories, tables. */
    private readonly limits: Readonly<InstanceLimits>,
    private readonly compiled: CompiledComponent,
    private readonly handler: HostCallHandler,
    private readonly http: PluginHttpClient,
    private readonly workers: SpareWorkers,
    /** The worker taken when the load began, for the first instance. */
    private firstWorker: Worker | undefined,
    /** A js plugin's bundled JS, handed to each new engine instance before `init`. */
    private readonly jsPayload: JsPayload | undefined,
    private readonly onClose: () => void,
    /** The host's `idleTimeoutMs` (0: never hibernate). */
    idleTimeoutMs = 0,
  ) {
    this.id = manifest.id;
    this.version = manifest.version;
    this.idle = new IdleTracker(idleTimeoutMs, () => this.hibernate(idleTimeoutMs));
  }

  get hibernations(): number {
    return this.hibernationCount;
  }

  /**
   * Stops the idle plugin's worker (and one booted in advance). Called by the idle
   * tracker only when no call is queued or running, synchronously: a call queued
   * after this finds no instance and boots a fresh one (see `run`). The plugin's
   * host-side state — sandbox, rate counters, HTTP client, grants — is kept, so a
   * rate window does not restart by hibernating (T90).
   */
  private hibernate(idleMs: number): void {
    // Nothing to stop: never booted since the last hibernation, or closed.
    if (this.closed || (!this.instance && !this.replacement)) return;
    const instance = this.instance;
    this.instance = undefined;
    const replacement = this.replacement;
    this.replacement = undefined;
    this.hibernated = true;
    this.hibernationCount++;
    debug("hibernating plugin %s after %dms idle", this.id, idleMs);
    publishWorkerEvent({ type: "hibernate", pluginId: this.id, threadId: instance?.runtime.threadId ?? 0, idleMs });
    const reason: Outcome = { type: "crashed", message: "plugin hibernated" };
    void instance?.runtime.kill(reason);
    void replacement?.then(
      (r) => r.runtime.kill(reason),
      () => undefined,
    );
  }

  get usage(): Readonly<PluginUsage> {
    return this.lastUsage;
  }

  describe(): PluginDescription {
    if (!this.description) throw new PluginError("PLUGIN_CLOSED", "plugin is not loaded", { pluginId: this.id });
    return this.description;
  }

  private get timeoutMs(): number {
    return this.resources.maxExecutionSeconds * 1000;
  }

  /** Starts a worker and waits for it to be ready (init done), under the wall-clock limit. */
  private async boot(worker: Worker = this.takeWorker()): Promise<{ instance: Instance; describe: string }> {
    const session = this.handler.session();
    const instance: Instance = {
      session,
      runtime: new WorkerRuntime(
        this.compiled,
        session.serve,
        this.resources.maxFuel,
        this.limits,
        this.id,
        worker,
        () => this.instanceDied(instance),
        this.resources.maxResultBytes,
        this.jsPayload,
      ),
    };
    const outcome = await this.withTimeout(instance, instance.runtime.started(), STARTUP_ALLOWANCE_MS);
    if (outcome.type === "ready") return { instance, describe: outcome.describe };
    await instance.runtime.kill();
    throw this.outcomeError(outcome, "init");
  }

  private takeWorker(): Worker {
    const first = this.firstWorker;
    this.firstWorker = undefined;
    return first ?? this.workers.take();
  }

  /** The current instance is gone (crash, timeout, kill): make sure its replacement is on its way. */
  private instanceDied(instance: Instance): void {
    if (instance !== this.instance || this.closed) return;
    this.instance = undefined;
    this.prepareReplacement(true);
  }

  /**
   * Boots the next instance in the background. Started when an instance dies, and
   * again each time a replacement is taken: a plugin whose instance died once keeps
   * one instance booted in advance (one more worker's memory, only for such
   * plugins), so the call after its next crash or timeout does not wait for a boot.
   * A failed boot is reported to the call that takes it, never as an unhandled
   * rejection. An urgent replacement (the instance just died) takes a spare; one
   * booted in advance starts its own worker, leaving the spare for another
   * plugin's urgent replacement.
   */
  private prepareReplacement(urgent: boolean): void {
    if (this.closed || this.replacement) return;
    const replacement = this.boot(urgent ? this.takeWorker() : this.workers.start()).then(({ instance }) => instance);
    replacement.catch(() => undefined);
    this.replacement = replacement;
  }

  /**
   * A live instance for the next call: the one booted in advance, or a new boot.
   * `inAdvance`: then boot the one after it in the background (not after a wake:
   * a hibernating plugin keeps one worker at most).
   */
  private async freshInstance(inAdvance = true): Promise<Instance> {
    const pending = this.replacement;
    this.replacement = undefined;
    let instance = pending ? await pending : (await this.boot()).instance;
    // One booted in advance may have died while it waited (its worker crashed).
    if (!instance.runtime.alive && !this.closed) instance = (await this.boot()).instance;
    if (this.closed) {
      await instance.runtime.kill({ type: "crashed", message: "plugin closed" });
      throw new PluginError("PLUGIN_CLOSED", "plugin was closed during the call", { pluginId: this.id });
    }
    if (inAdvance) this.prepareReplacement(false);
    return instance;
  }

  async start(): Promise<void> {
    const { instance, describe } = await this.boot();
    try {
      this.description = parseDescribeJson(describe, this.id);
    } catch (error) {
      // Not yet the plugin's instance: its end starts no replacement.
      await instance.runtime.kill();
      throw error;
    }
    this.instance = instance;
    instance.runtime.announceActive();
    this.toolNames = new Set(this.description.tools.map((t) => t.name));
    this.idle.arm();
  }

  executeTool(name: string, params?: unknown): Promise<unknown> {
    // Busy from now until the call settles: no hibernation while a call waits in the queue.
    this.idle.begin();
    const run = this.queue.then(
      () => this.run(name, params),
      () => this.run(name, params),
    );
    this.queue = run.catch(() => undefined).finally(() => this.idle.end());
    return run;
  }

  private async run(name: string, params: unknown): Promise<unknown> {
    if (this.closed) throw new PluginError("PLUGIN_CLOSED", "plugin is closed", { pluginId: this.id });
    if (typeof name !== "string") throw new TypeError("tool name must be a string");
    if (!this.toolNames.has(name)) {
      throw new PluginError("PLUGIN_UNKNOWN_TOOL", `unknown tool: ${JSON.stringify(name.slice(0, 200))}`, {
        pluginId: this.id,
      });
    }
    let paramsJson: string | undefined;
    try {
      paramsJson = JSON.stringify(params === undefined ? null : params);
    } catch (cause) {
      throw new TypeError("params must be a JSON value", { cause });
    }
    if (paramsJson === undefined) throw new TypeError("params must be a JSON value");
    if (paramsJson.length > MAX_PARAMS_CHARS) {
      throw new RangeError(`params-json is too large: ${paramsJson.length} characters (limit ${MAX_PARAMS_CHARS})`);
    }
    const started = performance.now();
    let woke = false;
    if (!this.instance || !this.instance.runtime.alive) {
      // A fresh instance after a crash or timeout (usually booted, or booting, since the
      // fault), or after a hibernation (booted now, from a spare worker when one waits).
      woke = this.hibernated;
      this.hibernated = false;
      this.instance = undefined;
      this.instance = await this.freshInstance(!woke);
      this.instance.runtime.announceActive();
      if (woke) {
        const bootMs = performance.now() - started;
        publishWorkerEvent({ type: "wake", pluginId: this.id, threadId: this.instance.runtime.threadId, bootMs });
      }
    }
    const instance = this.instance;
    // Host calls of this instance's init (or of an earlier call) are not this call's.
    instance.session.takeCount();
    const outcome = await this.withTimeout(instance, instance.runtime.call(name, paramsJson, this.resources.maxFuel));
    const durationMs = performance.now() - started;
    const fuelUsed = "fuelUsed" in outcome ? outcome.fuelUsed : 0;
    const peakMemoryBytes = "peakMemory" in outcome ? outcome.peakMemory : 0;
    this.lastUsage = Object.freeze({ fuelUsed, peakMemoryBytes, hostCalls: instance.session.takeCount(), durationMs, woke });
    if (outcome.type === "ok") {
      // Only a result the worker found to be JSON within the bounds (size, depth,
      // objects and arrays) is parsed here; anything else is the raw string.
      if (!outcome.json) return outcome.value;
      try {
        return JSON.parse(outcome.value) as unknown;
      } catch {
        return outcome.value;
      }
    }
    if (this.closed) throw new PluginError("PLUGIN_CLOSED", "plugin was closed during the call", { pluginId: this.id });
    throw this.outcomeError(outcome, "call");
  }

  /**
   * Races `promise` against the wall-clock limit. On timeout the worker is
   * terminated (the next call gets a fresh one) and the call rejects with
   * ResourceExhaustedError kind `timeout`. The timer is ref'd: it keeps the
   * process alive while a call is in flight, although the worker is unref'd.
   */
  private withTimeout(instance: Instance, promise: Promise<Outcome>, allowanceMs = 0): Promise<Outcome> {
    const limit = this.timeoutMs;
    return raceWallClock<Outcome>(
      promise,
      limit + allowanceMs,
      (elapsed) => {
        const used = Math.round(elapsed - allowanceMs);
        instance.session.abandonInFlight("RESOURCE_EXHAUSTED");
        const info = { type: "exhausted" as const, kind: "timeout" as const, limit, used, message: "timeout" };
        void instance.runtime.kill({ type: "fault", info, fuelUsed: 0, peakMemory: 0 });
        return { type: "fault", info, fuelUsed: 0, peakMemory: 0 };
      },
      () => ({ type: "crashed", message: "plugin worker failed" }),
    );
  }

  private outcomeError(outcome: Outcome, phase: "init" | "call"): Error {
    const pluginId = this.id;
    switch (outcome.type) {
      case "err":
        return new PluginError("PLUGIN_TOOL_ERROR", guestText(outcome.value), { pluginId });
      case "init-failed":
        if (outcome.info.type === "limit") return limitError(outcome.info, pluginId);
        if (outcome.info.type === "exhausted" && outcome.info.kind) {
          return new PluginError("PLUGIN_INIT_FAILED", `plugin init failed: ${outcome.info.message}`, {
            pluginId,
            cause: new ResourceExhaustedError(outcome.info.kind, outcome.info.limit ?? 0, outcome.info.used ?? 0),
          });
        }
        return new PluginError("PLUGIN_INIT_FAILED", `plugin init failed: ${guestText(outcome.info.message)}`, { pluginId });
      case "fault": {
        const info = outcome.info;
        if (info.type === "result" && info.code && phase === "call") {
          return new PluginError(info.code, guestText(info.message), { pluginId });
        }
        if (info.type === "limit") return limitError(info, pluginId);
        if (info.type === "exhausted" && info.kind) {
          const error = new ResourceExhaustedError(info.kind, info.limit ?? 0, info.used ?? 0);
          if (phase === "init") {
            return new PluginError("PLUGIN_INIT_FAILED", `plugin init failed: ${error.message}`, { pluginId, cause: error });
          }
          return error;
        }
        const message = guestText(info.message);
        if (phase === "init") return new PluginError("PLUGIN_INIT_FAILED", `plugin init failed: ${message}`, { pluginId });
        return new PluginError("PLUGIN_TRAP", `plugin trapped: ${message}`, { pluginId });
      }
      case "crashed":
        return new PluginError("PLUGIN_CRASHED", `plugin crashed: ${outcome.message}`, {
          pluginId,
          cause: outcome.cause,
        });
      default:
        return new PluginError("PLUGIN_CRASHED", `plugin crashed: unexpected ${outcome.type}`, { pluginId });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.idle.stop();
    this.onClose();
    const instance = this.instance;
    this.instance = undefined;
    const replacement = this.replacement;
    this.replacement = undefined;
    if (this.firstWorker) this.workers.discard(this.takeWorker());
    debug("closing plugin %s", this.id);
    await Promise.all([
      instance?.runtime.kill({ type: "crashed", message: "plugin closed" }),
      replacement?.then(
        (r) => r.runtime.kill({ type: "crashed", message: "plugin closed" }),
        () => undefined,
      ),
      this.http.close?.().catch(() => undefined),
    ]);
    this.handler.close();
  }
}


const LIMIT_CODES: ReadonlySet<string> = new Set<InstanceLimitCode>([
  "PLUGIN_TOO_MANY_INSTANCES",
  "PLUGIN_TOO_MANY_MEMORIES",
  "PLUGIN_TOO_MANY_TABLES",
]);

/** A core-instance, memory or table count refused in the worker, as the PluginError it is. */
function limitError(info: FaultInfo, pluginId: string): PluginError {
  const code = LIMIT_CODES.has(info.code ?? "") ? (info.code as InstanceLimitCode) : "PLUGIN_INIT_FAILED";
  return new PluginError(code, info.message, { pluginId });
}
