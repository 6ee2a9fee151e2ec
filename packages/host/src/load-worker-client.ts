import { channel } from "node:diagnostics_channel";
import { Worker } from "node:worker_threads";
import type { CompileOptions, PreparedComponent } from "./compile.js";
import { PluginError, type PluginErrorCode } from "./errors.js";

/** A job for the load worker (runtime/load-worker.ts). */
export type LoadJob =
  | { id: number; op: "check"; wasm: Uint8Array; pluginId: string; wasi: "refuse" | "deny"; jsEngine: boolean }
  | { id: number; op: "prepare"; wasm: Uint8Array; options: PrepareOptions };

export interface PrepareOptions extends CompileOptions {
  /** Largest glue jco may generate (bytes). */
  maxGlueBytes: number;
}

/** The load worker's answer: what it did (and in which thread), or the refusal's code and message. */
export type LoadReply =
  | { id: number; ok: true; threadId: number; steps: string[]; prepared?: PreparedComponent }
  | { id: number; ok: false; code: PluginErrorCode; message: string };

/**
 * Every finished load-worker job is published here: `{ op, threadId, steps }` (the thread
 * that ran the scan, world check, transpile and metering; never the main thread's 0).
 */
export const loadChannel = channel("clawft:load");

/**
 * Heap of the load worker. Transpiling the componentize-qjs JS example (1.1 MB)
 * needs well under this; a component that makes jco's output explode ends the
 * worker at this cap (`PLUGIN_TOO_COMPLEX`) instead of growing the host's heap.
 */
export const LOAD_WORKER_HEAP_MB = 512;

/** Where the worker's entry is: next to this module in dist/, or dist/ when this runs from source (unit tests). */
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts") ? new URL("../dist/load-worker.js", import.meta.url) : new URL("./load-worker.js", import.meta.url);
}

interface Pending {
  resolve(reply: LoadReply & { ok: true }): void;
  reject(error: unknown): void;
  op: LoadJob["op"];
}

/**
 * Runs a host's load work (check, transpile, metering) in one worker thread of its
 * own, started on first use, referenced only while a job runs, restarted after a
 * crash. Jobs run one at a time, in order.
 */
export class LoadWorker {
  /** @param heapMb the worker's heap cap (MiB); tests lower it to exercise the out-of-memory path. */
  constructor(private readonly heapMb = LOAD_WORKER_HEAP_MB) {}

  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  /** Scan + world check in the worker (as a JS engine's when `jsEngine`); rejects with the check's PluginError. */
  async check(wasm: Uint8Array, pluginId: string, wasi: "refuse" | "deny", jsEngine = false): Promise<void> {
    await this.run({ id: 0, op: "check", wasm, pluginId, wasi, jsEngine }, pluginId);
  }

  /** Transpile, glue cap, metering and code cache in the worker. */
  async prepare(wasm: Uint8Array, options: PrepareOptions): Promise<PreparedComponent> {
    const reply = await this.run({ id: 0, op: "prepare", wasm, options }, undefined);
    if (!reply.prepared) throw new PluginError("PLUGIN_INVALID", "plugin component could not be prepared: no result");
    return reply.prepared;
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.fail(new PluginError("PLUGIN_CLOSED", "host was closed during the load"));
    if (worker) await worker.terminate();
  }

  private run(job: LoadJob, pluginId: string | undefined): Promise<LoadReply & { ok: true }> {
    if (this.closed) return Promise.reject(new PluginError("PLUGIN_CLOSED", "host is closed"));
    const id = this.nextId++;
    const worker = this.start();
    return new Promise<LoadReply & { ok: true }>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, op: job.op });
      worker.ref();
      // A copy: the caller keeps its bytes (they are hashed and cached on this thread).
      worker.postMessage({ ...job, id, wasm: job.wasm.slice() });
    }).catch((error: unknown) => {
      if (PluginError.isInstance(error) && pluginId !== undefined && (error as PluginError).pluginId === undefined) {
        const e = error as PluginError;
        throw new PluginError(e.code, e.message, { pluginId, cause: e.cause });
      }
      throw error;
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(workerUrl(), {
      execArgv: [],
      env: {},
      argv: [],
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb, stackSizeMb: 4 },
    });
    worker.unref();
    worker.on("message", (reply: LoadReply) => {
      const job = this.pending.get(reply.id);
      if (!job) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.ok) {
        if (loadChannel.hasSubscribers) loadChannel.publish({ op: job.op, threadId: reply.threadId, steps: reply.steps });
        job.resolve(reply);
      } else {
        job.reject(new PluginError(reply.code, reply.message));
      }
    });
    const ended = (error: Error | undefined): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const oom = (error as { code?: string } | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY";
      this.fail(
        oom
          ? new PluginError("PLUGIN_TOO_COMPLEX", `component too complex: preparing it used more than ${this.heapMb} MiB (the load worker's heap)`, { cause: error })
          : new PluginError("PLUGIN_INVALID", `plugin component could not be prepared: the load worker stopped (${error?.message ?? "exit"})`, { cause: error }),
      );
    };
    worker.on("error", ended);
    worker.on("exit", () => ended(undefined));
    this.worker = worker;
    return worker;
  }

  private fail(error: PluginError): void {
    const jobs = [...this.pending.values()];
    this.pending.clear();
    for (const job of jobs) job.reject(error);
  }
}
