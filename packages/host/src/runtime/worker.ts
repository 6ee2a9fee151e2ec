/**
 * The plugin worker: one per plugin instance. It instantiates the transpiled
 * component from already metered and compiled core modules, then serves calls
 * from the main thread. Host imports are synchronous for the guest: each one
 * writes its request into the shared buffer, wakes the main thread and blocks on
 * `Atomics.wait` (after a short spin) until the answer is written back.
 *
 * This file runs only inside a worker started by `WorkerRuntime`.
 */
import { parentPort } from "node:worker_threads";
import {
  ARG,
  Channel,
  FLAGS,
  type FaultInfo,
  type JsPayload,
  HostFn,
  type HostFnId,
  KIND,
  Kind,
  LEN,
  ARGUMENT_REFUSED,
  NUM_BUDGET,
  NUM_FUEL_USED,
  NUM_PEAK_MEMORY,
  NUM_SIZE,
  RESULT_IS_JSON,
  Reply,
  TO_MAIN,
  TO_WORKER,
} from "./protocol.js";
import { createWorkerMeter, InstanceLimitError, type InstanceLimits, type WorkerMeter } from "./meter.js";
import { loadGlue } from "./glue-loader.js";
import { lowerHostImports, type HostFunctionName, type HostFunctions, type HostResult } from "./host-lowering.js";
import type { ArgumentRefusal } from "./argument-limits.js";
import { JcoGuard } from "./jco-guard.js";
import { wasiImports } from "./wasi-stubs.js";
import { DESCRIBE_MAX_BYTES, checkResult, cutGuestText } from "./result-bounds.js";
import { AdaptiveSpin, type WaitTuning } from "./wait-strategy.js";

export interface WorkerInit {
  ctl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  /** The transpiled jco glue (an ES module exporting `instantiate`). */
  glue: string;
  /** V8's code cache for the glue, made by the main thread. */
  glueCodeCache: Uint8Array | undefined;
  /** Core modules by the file name the glue asks for, metered and compiled. */
  modules: Record<string, WebAssembly.Module>;
  /** Opaque metering data (per module) for the in-worker fuel meter. */
  metering: unknown;
  /** `wasi:*` imports to serve with the deny-everything stubs (empty unless the operator opted in). */
  wasi: string[];
  /** The functions of the component's own `host` import (`log`, `get-env`): the only ones bound. */
  hostFunctions: string[];
  /** How long to spin before sleeping, waiting for the main thread (see wait-strategy.ts). */
  wait: WaitTuning;
  /** Largest result (UTF-8 bytes) of a tool call; see result-bounds.ts. */
  maxResultBytes: number;
  /** What one guest instance may create and hold (core instances, memories, tables, their sums). */
  limits: InstanceLimits;
  /** A js plugin's bundled JS: the component is the JS engine, handed it before `init`. */
  jsPayload: JsPayload | undefined;
}

interface PluginExports {
  init(): void;
  executeTool(name: string, params: string): string;
  describe(): string;
}

type Instantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, object>,
  instantiateCore: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance,
) => { plugin: PluginExports; loadPluginSource?: (source: string, fileName: string) => void };

// A worker may be started long before it is given a plugin (a spare): it waits for
// its one init message and loads no guest code before that.
if (!parentPort) throw new Error("the plugin worker must run in a worker thread");
const port = parentPort;
const init = await new Promise<WorkerInit>((resolve) => port.once("message", resolve));
const ch = new Channel(init.ctl, init.data);
const ctl = ch.ctl;
/** The spin of a host call's wait, adapted to how long answers take (see wait-strategy.ts). */
const hostCallSpin = new AdaptiveSpin(init.wait, init.wait.workerSpin);

/**
 * Signals the main thread and waits for its answer: spins first (the round trip is
 * a hot path), for about as long as answers have recently taken, then sleeps on
 * `Atomics.wait`. `adaptive`: learn from this wait (host calls, not the idle wait
 * between tool calls, whose length is the caller's business).
 */
function signalAndWait(spinFor: number, adaptive: boolean): void {
  const seen = Atomics.load(ctl, TO_WORKER);
  Atomics.add(ctl, TO_MAIN, 1);
  Atomics.notify(ctl, TO_MAIN, 1);
  for (let i = 0; i < spinFor; i++) {
    if (Atomics.load(ctl, TO_WORKER) !== seen) {
      if (adaptive) hostCallSpin.caught(i);
      return;
    }
  }
  if (adaptive) hostCallSpin.missed();
  while (Atomics.load(ctl, TO_WORKER) === seen) Atomics.wait(ctl, TO_WORKER, seen);
}

/** Sends a message that the main thread does not answer (it will send a command later). */
function send(kind: number, values: readonly string[]): void {
  const len = ch.writeStrings(values);
  ctl[KIND] = kind;
  ctl[LEN] = len;
}

/** Blocks until the main thread sends the next command (spinning a little longer: callers often chain calls). */
function waitForCommand(): void {
  signalAndWait(init.wait.idleSpin, false);
}

interface HostReply {
  status: number;
  value: string;
}

function hostCall(fn: HostFnId, args: string[], refusal?: ArgumentRefusal): HostReply {
  const len = ch.writeStrings(refusal ? [refusal.argument, refusal.unit, String(refusal.limit)] : args);
  ctl[KIND] = Kind.HOST_CALL;
  ctl[ARG] = fn;
  ctl[LEN] = len;
  ctl[FLAGS] = refusal ? ARGUMENT_REFUSED : 0;
  ch.num[NUM_SIZE] = refusal ? refusal.size : 0;
  signalAndWait(hostCallSpin.next(), init.wait.minSpin !== init.wait.maxSpin);
  const status = ctl[ARG] as number;
  const n = ctl[LEN] as number;
  const value = n > 0 ? (ch.readStrings(n)[0] ?? "") : "";
  return { status, value };
}

function asResult(reply: HostReply): HostResult<string> {
  return reply.status === Reply.OK ? { tag: "ok", val: reply.value } : { tag: "err", val: reply.value };
}

const HOST_FN_IDS: Record<HostFunctionName, HostFnId> = {
  "http-request": HostFn.HTTP_REQUEST,
  "read-file": HostFn.READ_FILE,
  "write-file": HostFn.WRITE_FILE,
  "get-env": HostFn.GET_ENV,
  log: HostFn.LOG,
};

/**
 * The host functions, called by the direct lowering (host-lowering.ts) or, for a
 * module it cannot serve, through the guarded jco trampolines (jco-guard.ts). Both
 * check every argument against its limit from its length before calling these
 * (T49, T61); an argument over it is never sent, only the refusal is.
 */
const hostImports: HostFunctions = {
  httpRequest(method: string, url: string, headers: Array<[string, string]>, body: string | undefined): HostResult<string> {
    const args = [method, url, JSON.stringify(headers)];
    if (body !== undefined) args.push(body);
    return asResult(hostCall(HostFn.HTTP_REQUEST, args));
  },
  readFile(path: string): HostResult<string> {
    return asResult(hostCall(HostFn.READ_FILE, [path]));
  },
  writeFile(path: string, content: string): HostResult<void> {
    const reply = hostCall(HostFn.WRITE_FILE, [path, content]);
    return reply.status === Reply.ERR ? { tag: "err", val: reply.value } : { tag: "ok", val: undefined };
  },
  getEnv(name: string): string | undefined {
    const reply = hostCall(HostFn.GET_ENV, [name]);
    return reply.status === Reply.OK ? reply.value : undefined;
  },
  log(level: number, message: string, originalBytes?: number): void {
    hostCall(HostFn.LOG, originalBytes === undefined ? [String(level), message] : [String(level), message, String(originalBytes)]);
  },
  refuse(fn: HostFunctionName, refusal: ArgumentRefusal): string {
    return hostCall(HOST_FN_IDS[fn], [], refusal).value;
  },
};

const jcoGuard = new JcoGuard();
jcoGuard.installDecoder();
/** What jco's trampolines call: only from a guarded trampoline (see jco-guard.ts). */
const jcoHostImports = jcoGuard.hostFunctions(hostImports);

/** jco's name for each host function (what the glue reads from `imports.host`). */
const GLUE_NAMES: Readonly<Record<string, keyof HostFunctions>> = {
  "http-request": "httpRequest",
  "read-file": "readFile",
  "write-file": "writeFile",
  "get-env": "getEnv",
  log: "log",
};

/**
 * Host functions are bound only from the component's own `host` import: the glue gets
 * just the declared ones (nothing at all when it declares none), and the direct lowering
 * replaces only core imports of those names (T60).
 */
const declaredHost: ReadonlySet<string> = new Set(init.hostFunctions.filter((name) => GLUE_NAMES[name] !== undefined));
const glueHost: Partial<HostFunctions> = {};
for (const name of declaredHost) {
  const key = GLUE_NAMES[name] as keyof HostFunctions;
  Object.assign(glueHost, { [key]: jcoHostImports[key] });
}

const { instantiate } = await loadGlue<{ instantiate: Instantiate }>(init.glue, init.glueCodeCache);
const moduleNames = new Map<WebAssembly.Module, string>(Object.entries(init.modules).map(([n, m]) => [m, n]));

let plugin: PluginExports | undefined;
let meter: WorkerMeter;

/**
 * Instantiates a fresh guest. Only the metered modules we compiled can be
 * instantiated: a glue that tried to compile or instantiate anything else (e.g. an
 * inlined, unmetered module) is refused, so no guest code runs without metering.
 */
function instantiateGuest(): ReturnType<Instantiate> {
  meter = createWorkerMeter(init.metering, moduleNames, init.limits);
  meter.setBudget(ch.num[NUM_BUDGET] as number);
  const getCoreModule = (name: string): WebAssembly.Module => {
    const m = init.modules[name];
    if (!m) throw new Error(`unknown core module ${name}`);
    return m;
  };
  const instantiateCore = (module: WebAssembly.Module, imports: WebAssembly.Imports = {}): WebAssembly.Instance => {
    if (!moduleNames.has(module)) throw new Error("refusing to instantiate a core module that was not metered");
    // The module that calls the host gets the direct lowering instead of jco's
    // trampolines (which cost several microseconds of bookkeeping per call).
    const direct = lowerHostImports(module, imports, hostImports, declaredHost);
    // Any other module that can reach the host does so through jco's trampolines: guarded (T61).
    imports = direct ? direct.imports : jcoGuard.wrapImports(imports);
    // Counts this core instance and its memories/tables first: past a limit it throws
    // before the instance (and its memory) exists.
    const metered = meter.withImports(module, imports);
    const instance = new WebAssembly.Instance(module, metered);
    direct?.attach(instance);
    jcoGuard.noteInstance(instance);
    return instance;
  };
  const result = instantiate(
    getCoreModule,
    { ...wasiImports(init.wasi), ...(declaredHost.size > 0 ? { host: glueHost } : {}) },
    instantiateCore,
  );
  return result;
}

/** Linear memory of the instance: the sum over every memory of every core instance, exported or not (memories never shrink, so this is the peak). */
function peakMemory(): number {
  return meter.memoryBytes();
}

/** A throw's message, cut to GUEST_TEXT_MAX_BYTES (it may carry guest text). */
function errorMessage(e: unknown): string {
  return cutGuestText(e instanceof Error ? e.message : String(e));
}

function isGuestErr(e: unknown): e is { payload: unknown } {
  return typeof e === "object" && e !== null && Object.prototype.hasOwnProperty.call(e, "payload");
}

/** Turns a throw out of the guest into a fault report (fuel/memory/table exhaustion, or a trap). */
function fault(e: unknown): FaultInfo {
  if (e instanceof InstanceLimitError) return { type: "limit", code: e.code, message: e.message, limit: e.limit, used: e.used };
  const exhausted = meter.exhausted(e);
  if (exhausted) return { type: "exhausted", ...exhausted };
  return { type: "trap", message: errorMessage(e) };
}

/** Instantiates and runs `init`; returns undefined on success, or the report to send. */
function boot(): { kind: number; info: FaultInfo } | undefined {
  try {
    const exports = instantiateGuest();
    meter.setBudget(ch.num[NUM_BUDGET] as number);
    // A js plugin: the engine evaluates its JS first, under the same fuel budget and
    // memory cap as init (an infinite loop at the top level of the JS faults like one in init).
    if (init.jsPayload) {
      if (typeof exports.loadPluginSource !== "function") throw new Error("the js engine exports no load-plugin-source");
      exports.loadPluginSource(init.jsPayload.source, init.jsPayload.fileName);
    }
    plugin = exports.plugin;
    plugin.init();
    return undefined;
  } catch (e) {
    plugin = undefined;
    if (isGuestErr(e)) {
      return { kind: Kind.INIT_FAILED, info: { type: "init", message: cutGuestText(String(e.payload)) } };
    }
    return { kind: Kind.INIT_FAILED, info: fault(e) };
  }
}

function runCall(tool: string, params: string): void {
  if (!plugin) {
    const failed = boot();
    if (failed) {
      send(failed.kind, [JSON.stringify(failed.info)]);
      return;
    }
  }
  const p = plugin as PluginExports;
  meter.setBudget(ch.num[NUM_BUDGET] as number);
  try {
    const out = p.executeTool(tool, params);
    ch.num[NUM_FUEL_USED] = meter.consumed();
    ch.num[NUM_PEAK_MEMORY] = peakMemory();
    // Bounded here, before any copy to the main thread (size, then JSON depth and shape).
    const checked = checkResult(out, init.maxResultBytes);
    if (checked.type === "refused") {
      const { code, message, limit, used } = checked;
      send(Kind.FAULT, [JSON.stringify({ type: "result", code, message, limit, used } satisfies FaultInfo)]);
      return;
    }
    ctl[ARG] = checked.type === "json" ? RESULT_IS_JSON : 0;
    send(Kind.RESULT_OK, [out]);
  } catch (e) {
    ch.num[NUM_FUEL_USED] = meter.consumed();
    ch.num[NUM_PEAK_MEMORY] = peakMemory();
    if (isGuestErr(e)) {
      send(Kind.RESULT_ERR, [cutGuestText(String(e.payload))]);
      return;
    }
    plugin = undefined; // a trapped instance is never reused
    send(Kind.FAULT, [JSON.stringify(fault(e))]);
  }
}

// Boot: instantiate, init, describe; then serve commands forever.
meter = createWorkerMeter(init.metering, moduleNames, init.limits);
const failed = boot();
if (failed) {
  send(failed.kind, [JSON.stringify(failed.info)]);
} else {
  try {
    const described = (plugin as PluginExports).describe();
    ch.num[NUM_PEAK_MEMORY] = peakMemory();
    // describe() is parsed on the main thread too: the same bounds as a tool result.
    const checked = checkResult(described, DESCRIBE_MAX_BYTES);
    if (checked.type === "refused") {
      plugin = undefined;
      send(Kind.INIT_FAILED, [JSON.stringify({ type: "init", message: `describe failed: ${checked.message}` } satisfies FaultInfo)]);
    } else {
      send(Kind.READY, [described]);
    }
  } catch (e) {
    plugin = undefined;
    const info = fault(e);
    send(Kind.INIT_FAILED, [JSON.stringify({ ...info, message: `describe failed: ${info.message}` })]);
  }
}

for (;;) {
  waitForCommand();
  const kind = ctl[KIND];
  if (kind === Kind.CALL) {
    const [tool = "", params = ""] = ch.readStrings(ctl[LEN] as number);
    runCall(tool, params);
  } else {
    send(Kind.FAULT, [JSON.stringify({ type: "crash", message: `unknown command ${String(kind)}` })]);
  }
  // Let the glue's queued microtasks (task bookkeeping) run between calls.
  await undefined;
}
