import { channel } from "node:diagnostics_channel";
import { Worker } from "node:worker_threads";

/** Channel on which plugin workers are announced (`spare`, `start`, `exit`): for monitoring and leak checks. */
export const WORKER_CHANNEL = "clawft:host:worker";
const workerChannel = channel(WORKER_CHANNEL);

/**
 * A message on the `clawft:host:worker` channel.
 * - `spare`: a worker was started in advance; it serves no plugin yet.
 * - `start`: a worker begins booting an instance of a plugin (a spare handed over, or a new one).
 * - `active`: that instance becomes the one the plugin's calls run on (at load, or when it
 *   replaces one that died; until then it was booted in advance).
 * - `exit`: a worker ended; `pluginId` is `""` for a spare that never served one.
 * - `hibernate`: the plugin was idle for `idleMs` (the host's `idleTimeoutMs`): its worker
 *   `threadId` is being stopped (its `exit` follows) and its guest state dropped.
 * - `wake`: a call found the plugin hibernated; the fresh instance on `threadId` was booted
 *   (`init` run again) in `bootMs` and now serves the call. The `hibernations` count of the
 *   plugin and its `usage.woke` say the same.
 */
export type WorkerEvent =
  | { type: "spare"; threadId: number; worker: Worker }
  | { type: "start"; pluginId: string; threadId: number; worker: Worker }
  | { type: "active"; pluginId: string; threadId: number; worker: Worker }
  | { type: "exit"; pluginId: string; threadId: number; code: number }
  | { type: "hibernate"; pluginId: string; threadId: number; idleMs: number }
  | { type: "wake"; pluginId: string; threadId: number; bootMs: number };

export function publishWorkerEvent(event: WorkerEvent): void {
  if (workerChannel.hasSubscribers) workerChannel.publish(event);
}

const workerUrl = new URL("./worker.js", import.meta.url);

/** V8 limits of a plugin worker (MiB), as Node's `resourceLimits` takes them. */
export interface PluginWorkerLimits {
  maxOldGenerationSizeMb: number;
  maxYoungGenerationSizeMb: number;
  stackSizeMb: number;
}

/**
 * Starts a plugin worker. It waits for its one `WorkerInit` message (which plugin
 * to run) before loading any guest code. The worker is unref'd: an idle plugin or
 * spare never keeps the process alive.
 */
export function startPluginWorker(limits: Readonly<PluginWorkerLimits>): Worker {
  const worker = new Worker(workerUrl, {
    // A clean start: the parent's flags (--eval, --input-type, loaders, inspector)
    // must not leak into or break the plugin's thread.
    execArgv: [],
    // The worker never sees the host's environment (the jco glue reads process.env).
    env: {},
    argv: [],
    // Bounds the worker's own JS heap and stack: the glue decodes strings and lists
    // out of guest memory on this heap, and a guest can ask for up to its memory cap
    // in one result. Past the limit V8 ends the worker (ERR_WORKER_OUT_OF_MEMORY),
    // which the host reports as a crash of this plugin only.
    resourceLimits: {
      maxOldGenerationSizeMb: limits.maxOldGenerationSizeMb,
      maxYoungGenerationSizeMb: limits.maxYoungGenerationSizeMb,
      stackSizeMb: limits.stackSizeMb,
    },
  });
  worker.unref();
  return worker;
}

interface Spare {
  worker: Worker;
  onExit: (code: number) => void;
  onError: () => void;
}

/**
 * Workers started ahead of need, so that a plugin's load, or the call after its
 * worker crashed or timed out, does not wait 30–60 ms (far more on a loaded
 * machine) for a Node worker to boot. A spare carries nothing of any plugin: it
 * is handed to exactly one plugin and never comes back, so no state can pass from
 * one plugin (or one instance) to the next.
 */
export class SpareWorkers {
  private readonly spares: Spare[] = [];
  private closed = false;

  constructor(
    private readonly size: number,
    /** The V8 limits every worker of this pool starts with. */
    private readonly limits: Readonly<PluginWorkerLimits>,
  ) {}

  /** A new worker (not from the pool) with this host's limits. */
  start(): Worker {
    return startPluginWorker(this.limits);
  }

  /** True when a started spare is waiting. */
  get hasSpare(): boolean {
    return this.spares.length > 0;
  }

  /** A worker for a plugin: a started spare when there is one, else a new one. Refills the pool at once. */
  take(): Worker {
    const spare = this.spares.shift();
    let worker: Worker;
    if (spare) {
      spare.worker.off("exit", spare.onExit);
      spare.worker.off("error", spare.onError);
      worker = spare.worker;
    } else {
      worker = startPluginWorker(this.limits);
    }
    this.warm();
    return worker;
  }

  /** Starts spares until the pool is full (no-op once closed), e.g. when a load begins. */
  warm(): void {
    while (!this.closed && this.spares.length < this.size) {
      const worker = startPluginWorker(this.limits);
      const threadId = worker.threadId;
      const spare: Spare = {
        worker,
        // A spare that died before use (it should not) is dropped, not restarted here:
        // the next take() refills, so a broken setup cannot spin in a restart loop.
        onExit: (code) => {
          const i = this.spares.indexOf(spare);
          if (i >= 0) this.spares.splice(i, 1);
          publishWorkerEvent({ type: "exit", pluginId: "", threadId, code });
        },
        onError: () => undefined,
      };
      worker.on("exit", spare.onExit);
      worker.on("error", spare.onError);
      this.spares.push(spare);
      publishWorkerEvent({ type: "spare", threadId, worker });
    }
  }

  /** Ends a worker that was taken but never given a plugin (its load failed). */
  discard(worker: Worker): void {
    const threadId = worker.threadId;
    worker.once("exit", (code) => publishWorkerEvent({ type: "exit", pluginId: "", threadId, code }));
    worker.on("error", () => undefined);
    void worker.terminate().catch(() => undefined);
  }

  /** Ends every spare; later take() calls still work but start no new spares. */
  async close(): Promise<void> {
    this.closed = true;
    const spares = this.spares.splice(0);
    await Promise.all(
      spares.map(async (s) => {
        await s.worker.terminate().catch(() => undefined);
      }),
    );
  }
}
