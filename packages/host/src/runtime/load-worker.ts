/**
 * The load worker: the costly, input-driven steps of loading an untrusted
 * component, off the main thread. One per host, started on first use; it never
 * runs guest code (it only decodes, transpiles and rewrites the component's bytes).
 *
 * - `check`: the strict type-complexity scan and the world check (jco's decoder);
 * - `prepare`: jco's transpile, the glue size cap, metering of every core module,
 *   and V8's code cache of the glue.
 *
 * A hostile component (a type bomb, a huge module) then costs this thread, capped
 * by its own heap limit, and never stalls the host's event loop (T62).
 *
 * This file runs only inside a worker started by `LoadWorker` (load-worker-client.ts).
 */
import { parentPort, threadId } from "node:worker_threads";
import { prepareComponent } from "../compile.js";
import { PluginError } from "../errors.js";
import { checkComponent } from "../validate.js";
import type { LoadJob, LoadReply } from "../load-worker-client.js";

if (!parentPort) throw new Error("the load worker must run in a worker thread");
const port = parentPort;

async function run(job: LoadJob): Promise<LoadReply> {
  if (job.op === "check") {
    await checkComponent(job.wasm, job.pluginId, job.wasi, job.jsEngine);
    return { id: job.id, ok: true, threadId, steps: ["scan", "world-check"] };
  }
  const prepared = await prepareComponent(job.wasm, job.options);
  return { id: job.id, ok: true, threadId, steps: prepared.steps, prepared };
}

port.on("message", (job: LoadJob) => {
  run(job).then(
    (reply) => {
      const transfer: ArrayBuffer[] = [];
      const prepared = reply.ok ? reply.prepared : undefined;
      if (prepared) {
        // Each in a buffer of its own (views may share one), moved rather than copied.
        for (const [name, bytes] of Object.entries(prepared.modules)) {
          const own = new Uint8Array(bytes);
          prepared.modules[name] = own;
          transfer.push(own.buffer);
        }
        if (prepared.glueCodeCache) {
          const own = new Uint8Array(prepared.glueCodeCache);
          prepared.glueCodeCache = own;
          transfer.push(own.buffer);
        }
      }
      port.postMessage(reply, transfer);
    },
    (error: unknown) => {
      const reply: LoadReply = PluginError.isInstance(error)
        ? { id: job.id, ok: false, code: (error as PluginError).code, message: (error as PluginError).message }
        : { id: job.id, ok: false, code: "PLUGIN_INVALID", message: `plugin component could not be prepared: ${error instanceof Error ? error.message : String(error)}` };
      port.postMessage(reply);
    },
  );
});
