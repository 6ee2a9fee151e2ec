import type { Worker } from "node:worker_threads";
import { debuglog } from "node:util";
import { RESOURCE_DEFAULTS } from "@clawft/sandbox-policy/core";
import type { CompiledComponent } from "../compile.js";
import {
  ARG,
  ARGUMENT_REFUSED,
  Channel,
  FLAGS,
  type FaultInfo,
  type HostFnId,
  KIND,
  Kind,
  LEN,
  NUM_BUDGET,
  NUM_FUEL_USED,
  NUM_PEAK_MEMORY,
  NUM_SIZE,
  RESULT_IS_JSON,
  Reply,
  type ReplyStatus,
  TO_MAIN,
  TO_WORKER,
} from "./protocol.js";
import { publishWorkerEvent } from "./spare-workers.js";
import type { ArgumentRefusal, LimitedArgument } from "./argument-limits.js";
import type { WorkerInit } from "./worker.js";
import type { JsPayload } from "./protocol.js";
import type { InstanceLimits } from "./meter.js";
import { AdaptiveSpin, type WaitTuning, waitTuning } from "./wait-strategy.js";

const debug = debuglog("clawft");

/** What the main thread answers to one host call. */
export interface HostReply {
  status: ReplyStatus;
  value: string;
}

/**
 * Serves one host call on the main thread; may be async (fs, http). `args` reads
 * the arguments from the shared buffer: call it synchronously, and only when they
 * are needed (a call dropped by a rate limit is answered without decoding them,
 * T51). `refusal` is set when the worker refused an argument from its length (T49):
 * there are no arguments then.
 */
export type HostCallServer = (fn: HostFnId, args: () => string[], refusal: ArgumentRefusal | undefined) => HostReply | Promise<HostReply>;

export type Outcome =
  | { type: "ready"; describe: string; peakMemory: number }
  /** `json`: the worker checked that `value` is JSON within the result bounds (parse it); otherwise raw text. */
  | { type: "ok"; value: string; json: boolean; fuelUsed: number; peakMemory: number }
  | { type: "err"; value: string; fuelUsed: number; peakMemory: number }
  | { type: "fault"; info: FaultInfo; fuelUsed: number; peakMemory: number }
  | { type: "init-failed"; info: FaultInfo }
  | { type: "crashed"; message: string; cause?: unknown };

/** Polls that skip the main thread's synchronous wait after it timed out once. */
const SYNC_WAIT_BACKOFF = 16;
/** Host calls served back to back before the main thread yields to its event loop. */
const MAX_CHAINED_HOST_CALLS = 64;

/**
 * One worker running one guest instance, and the main-thread side of its wire.
 * The worker (new, or a spare started in advance) is unref'd: an idle plugin never
 * keeps the process alive (the caller holds a ref'd timer while a call is in flight).
 */
export class WorkerRuntime {
  private readonly ch: Channel;
  private seen = 0;
  private pending: ((o: Outcome) => void) | undefined;
  private deadReason: Outcome | undefined;
  readonly threadId: number;
  /** How both sides wait (see wait-strategy.ts). */
  private readonly wait: Readonly<WaitTuning> = waitTuning();
  /** The main thread's spin for the worker's next message, adapted to how long it takes. */
  private readonly mainSpin = new AdaptiveSpin(
    this.wait.adaptive ? this.wait : { minSpin: this.wait.mainSpin, maxSpin: this.wait.mainSpin },
    this.wait.mainSpin,
  );
  /** Polls left that skip the synchronous wait after one timed out. */
  private syncWaitBackoff = 0;

  constructor(
    compiled: CompiledComponent,
    private readonly server: HostCallServer,
    fuelBudget: number,
    limits: Readonly<InstanceLimits>,
    private readonly pluginId: string,
    private readonly worker: Worker,
    /** Called once when this runtime stops for any reason (crash, exit, kill). */
    private readonly onDead?: () => void,
    /** Largest result of a call, in UTF-8 bytes (enforced in the worker). */
    maxResultBytes: number = RESOURCE_DEFAULTS.maxResultBytes,
    /** A js plugin's JS: `compiled` is then the engine, which gets it before `init`. */
    jsPayload?: JsPayload,
  ) {
    const bufs = Channel.create();
    this.ch = new Channel(bufs.ctl, bufs.data);
    this.ch.num[NUM_BUDGET] = fuelBudget;
    const init: WorkerInit = {
      ctl: bufs.ctl,
      data: bufs.data,
      glue: compiled.glue,
      glueCodeCache: compiled.glueCodeCache,
      modules: compiled.modules,
      metering: compiled.metering,
      wait: this.wait,
      wasi: compiled.imports.filter((name) => name.startsWith("wasi:")),
      maxResultBytes,
      hostFunctions: [...compiled.hostFunctions],
      limits: { ...limits },
      jsPayload,
    };
    this.threadId = worker.threadId;
    worker.on("error", (error) => {
      this.die({ type: "crashed", message: `plugin worker failed: ${error.message}`, cause: error });
    });
    worker.on("exit", (code) => {
      this.die({ type: "crashed", message: `plugin worker exited (code ${code})` });
      publishWorkerEvent({ type: "exit", pluginId, threadId: this.threadId, code });
    });
    publishWorkerEvent({ type: "start", pluginId, threadId: this.threadId, worker });
    // The worker loads nothing of a plugin until this message: which guest to run.
    worker.postMessage(init);
    void this.pump();
  }

  /** Announces on `clawft:host:worker` that this instance now serves the plugin's calls. */
  announceActive(): void {
    publishWorkerEvent({ type: "active", pluginId: this.pluginId, threadId: this.threadId, worker: this.worker });
  }

  get alive(): boolean {
    return this.deadReason === undefined;
  }

  /** The first message of a fresh worker: ready (with describe JSON) or a failure. */
  started(): Promise<Outcome> {
    return this.next();
  }

  /** Runs one tool call. Only one call at a time (the plugin handle queues). */
  call(tool: string, params: string, fuelBudget: number): Promise<Outcome> {
    if (this.deadReason) return Promise.resolve(this.deadReason);
    const ch = this.ch;
    const len = ch.writeStrings([tool, params]);
    ch.ctl[KIND] = Kind.CALL;
    ch.ctl[LEN] = len;
    ch.num[NUM_BUDGET] = fuelBudget;
    const p = this.next();
    Atomics.add(ch.ctl, TO_WORKER, 1);
    Atomics.notify(ch.ctl, TO_WORKER, 1);
    return p;
  }

  /** Ends the worker now (timeout, close). A pending call settles with `reason`. */
  kill(reason: Outcome = { type: "crashed", message: "plugin worker was terminated" }): Promise<void> {
    this.die(reason);
    return this.worker.terminate().then(
      () => undefined,
      () => undefined,
    );
  }

  private next(): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      if (this.deadReason) resolve(this.deadReason);
      else this.pending = resolve;
    });
  }

  private settle(o: Outcome): void {
    const p = this.pending;
    this.pending = undefined;
    p?.(o);
  }

  private die(reason: Outcome): void {
    if (this.deadReason) return;
    this.deadReason = reason;
    debug("plugin worker %d stopped: %s", this.threadId, reason.type);
    // Wake our own pump so it sees the worker is gone and ends (no waiter left behind).
    Atomics.notify(this.ch.ctl, TO_MAIN);
    this.settle(reason);
    this.onDead?.();
  }

  private async pump(): Promise<void> {
    const ch = this.ch;
    const ctl = ch.ctl;
    for (;;) {
      const w = Atomics.waitAsync(ctl, TO_MAIN, this.seen);
      if (w.async) await w.value;
      if (this.deadReason) return;
      let now = Atomics.load(ctl, TO_MAIN);
      // A wake-up with no new message: the worker's notify for a message we already
      // took through the not-equal fast path can arrive late. Wait again.
      if (now === this.seen) continue;
      // Serve host calls back to back without going through the event loop while the
      // guest keeps making them quickly (bounded, so timers and I/O still run).
      for (let chained = 0; ; chained++) {
        this.seen = now;
        if (ctl[KIND] !== Kind.HOST_CALL) {
          if (!this.complete()) return;
          break;
        }
        const pending = this.serveHostCall();
        if (pending !== undefined) await pending;
        if (this.deadReason) return;
        if (chained >= MAX_CHAINED_HOST_CALLS) break;
        now = this.pollToMain();
        if (now === this.seen) break;
      }
    }
  }

  /**
   * Waits briefly for the worker's next message after answering its host call (a
   * guest usually makes the next call, or ends, within microseconds): spins about as
   * long as that has recently taken, then blocks on `Atomics.wait` for at most
   * `mainSyncWaitMs` — a futex the worker's notify ends at once, and which leaves
   * the core to the worker meanwhile. Past that, the event loop takes over (pump).
   */
  private pollToMain(): number {
    const ctl = this.ch.ctl;
    const seen = this.seen;
    const spin = this.mainSpin.next();
    for (let i = 0; i < spin; i++) {
      const v = Atomics.load(ctl, TO_MAIN);
      if (v !== seen) {
        if (this.wait.adaptive) this.mainSpin.caught(i);
        return v;
      }
    }
    if (this.wait.adaptive) this.mainSpin.missed();
    // A sync wait that timed out (the guest computes between its host calls) is skipped
    // for the next few polls: the event loop is not blocked for nothing call after call.
    if (this.wait.mainSyncWaitMs > 0 && this.syncWaitBackoff-- <= 0) {
      if (Atomics.wait(ctl, TO_MAIN, seen, this.wait.mainSyncWaitMs) === "timed-out") this.syncWaitBackoff = SYNC_WAIT_BACKOFF;
    }
    return Atomics.load(ctl, TO_MAIN);
  }

  /** Handles a message that ends a call or a boot; false on a protocol error. */
  private complete(): boolean {
    const ch = this.ch;
    const ctl = ch.ctl;
    const kind = ctl[KIND];
    const len = ctl[LEN] as number;
    const [text = ""] = ch.readStrings(len);
    const fuelUsed = ch.num[NUM_FUEL_USED] as number;
    const peakMemory = ch.num[NUM_PEAK_MEMORY] as number;
    switch (kind) {
      case Kind.READY:
        this.settle({ type: "ready", describe: text, peakMemory });
        return true;
      case Kind.RESULT_OK:
        this.settle({ type: "ok", value: text, json: ctl[ARG] === RESULT_IS_JSON, fuelUsed, peakMemory });
        return true;
      case Kind.RESULT_ERR:
        this.settle({ type: "err", value: text, fuelUsed, peakMemory });
        return true;
      case Kind.FAULT:
        this.settle({ type: "fault", info: parseFault(text), fuelUsed, peakMemory });
        return true;
      case Kind.INIT_FAILED:
        this.settle({ type: "init-failed", info: parseFault(text) });
        return true;
      default:
        void this.kill({ type: "crashed", message: `protocol error: unknown message ${String(kind)}` });
        return false;
    }
  }

  /** Serves one host call; returns a promise only when the server is asynchronous (fs, http). */
  private serveHostCall(): Promise<void> | undefined {
    const ch = this.ch;
    const ctl = ch.ctl;
    const fn = ctl[ARG] as HostFnId;
    const len = ctl[LEN] as number;
    let refusal: ArgumentRefusal | undefined;
    if (ctl[FLAGS] === ARGUMENT_REFUSED) {
      const [argument = "", unit = "", limit = "0"] = ch.readStrings(len);
      refusal = {
        argument: argument as LimitedArgument,
        size: ch.num[NUM_SIZE] as number,
        limit: Number(limit),
        unit: unit === "entries" ? "entries" : "bytes",
      };
    }
    let cached: string[] | undefined;
    // Valid only until the reply is written: the server reads them at once or never.
    const args = (): string[] => (cached ??= refusal ? [] : ch.readStrings(len));
    let result: HostReply | Promise<HostReply>;
    try {
      result = this.server(fn, args, refusal);
    } catch (error) {
      result = this.hostError(fn, error);
    }
    if (!(result instanceof Promise)) {
      this.reply(result);
      return undefined;
    }
    return result.then(
      (r) => this.reply(r),
      (error: unknown) => this.reply(this.hostError(fn, error)),
    );
  }

  /** The server turns every refusal into a reply; reaching here is a host bug. */
  private hostError(fn: number, error: unknown): HostReply {
    debug("host call %d threw: %o", fn, error);
    return { status: Reply.ERR, value: "host error" };
  }

  private reply(reply: HostReply): void {
    if (this.deadReason) return;
    const ch = this.ch;
    const ctl = ch.ctl;
    let len: number;
    try {
      len = ch.writeStrings([reply.value]);
    } catch {
      reply = { status: Reply.ERR, value: "host error: response too large" };
      len = ch.writeStrings([reply.value]);
    }
    ctl[ARG] = reply.status;
    ctl[LEN] = len;
    Atomics.add(ctl, TO_WORKER, 1);
    Atomics.notify(ctl, TO_WORKER, 1);
  }
}

function parseFault(text: string): FaultInfo {
  try {
    return JSON.parse(text) as FaultInfo;
  } catch {
    return { type: "crash", message: text };
  }
}
