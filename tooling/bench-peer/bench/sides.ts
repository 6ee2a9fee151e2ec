/**
 * The two sides behind one small interface, so every row runs the same code on each:
 * clawft (`createHost().load`, a worker per plugin) and the Extism JS SDK with
 * `runInWorker: true` (a worker per plugin too), in its 1.0.3 and 2.0.0-rc13 releases.
 */
import { createHost, type Host, type HostOptions } from "@clawft/host";
import { createPlugin as createPlugin1 } from "extism-1";
import { createPlugin as createPlugin2 } from "extism-2";
import { BENCH_VAR, type ExtismSide } from "./constants.js";

/** A loaded plugin of either side. */
export interface PeerPlugin {
  /** The no-op call: `echo` with the text `null`. */
  echo(): Promise<void>;
  /** The guest calls its host function `count` times in one call. */
  hostCalls(count: number): Promise<void>;
  /** Throws unless `echo` answers `null` and a host-call loop answers its count: a bench of a broken guest measures nothing. */
  check(): Promise<void>;
  close(): Promise<void>;
}

function expectAnswer(what: string, got: unknown, want: unknown): void {
  if (got !== want) throw new Error(`${what} answered ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
}

const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };
/** Extism's logger is a Console; the bench prints nothing from guests. */
const quietConsole = { ...console, error() {}, warn() {}, info() {}, debug() {}, log() {} } as Console;

let loads = 0;
const manifest = (name: string) => ({ id: `bench.peer.${name}.${loads++}`, name, version: "1.0.0", capabilities: ["tool"] });

/** A clawft host for the peer rows (modules up to 1 MiB: the ~330 KB guests are incompressible enough to need it). */
export function clawftHost(options: HostOptions = {}): Host {
  return createHost({ logger: quiet, maxModuleBytes: 1024 * 1024, maxModuleGzipBytes: 1024 * 1024, ...options });
}

/** Loads a clawft component whose tools are `echo` (tool-basic) or `env` (slow-host-call). */
export async function loadClawft(host: Host, wasm: Uint8Array, name = "guest"): Promise<PeerPlugin> {
  const plugin = await host.load({ manifest: manifest(name), wasm });
  return {
    async echo() {
      await plugin.executeTool("echo", null);
    },
    async hostCalls(count) {
      await plugin.executeTool("env", [count, BENCH_VAR]);
    },
    async check() {
      // tool-basic has echo, slow-host-call has env: check the tool this guest has.
      const tools = plugin.describe().tools.map((t) => t.name);
      if (tools.includes("echo")) expectAnswer("clawft echo", await plugin.executeTool("echo", null), null);
      if (tools.includes("env")) {
        expectAnswer("clawft env [3]", await plugin.executeTool("env", [3, BENCH_VAR]), 3);
        expectAnswer("clawft host calls served", plugin.usage.hostCalls, 3);
      }
    },
    close: () => plugin.close(),
  };
}

/** The host function the Extism guest calls: reads the name's block and answers 0 (none), like an ungranted get-env. */
function getEnv(context: { read(addr: bigint): { text(): string } | null }, addr: bigint): bigint {
  context.read(addr)?.text();
  return 0n;
}

/**
 * Loads an Extism guest (`echo`, `env`) in a worker. `wasm` is the module's bytes (compiled
 * by `createPlugin`, as an uncached load) or a compiled `WebAssembly.Module` (the nearest
 * Extism has to a cached load: it keeps no compile cache of its own).
 */
export async function loadExtism(side: ExtismSide, wasm: Uint8Array | WebAssembly.Module): Promise<PeerPlugin> {
  const create = side === "extism-1.0.3" ? createPlugin1 : createPlugin2;
  const item = wasm instanceof WebAssembly.Module ? { module: wasm } : { data: wasm };
  const plugin = await create(
    { wasm: [item] },
    {
      useWasi: false,
      runInWorker: true,
      logger: quietConsole,
      functions: { "extism:host/user": { get_env: getEnv as never } },
    },
  );
  return {
    async echo() {
      await plugin.call("echo", "null");
    },
    async hostCalls(count) {
      await plugin.call("env", String(count));
    },
    async check() {
      expectAnswer(`${side} echo`, (await plugin.call("echo", "null"))?.text(), "null");
      let served = 0;
      const counting = await create(
        { wasm: [item] },
        { useWasi: false, runInWorker: true, logger: quietConsole, functions: { "extism:host/user": { get_env: ((c: never, a: bigint) => (served++, getEnv(c, a))) as never } } },
      );
      try {
        expectAnswer(`${side} env 3`, (await counting.call("env", "3"))?.text(), "3");
        expectAnswer(`${side} host calls served`, served, 3);
      } finally {
        await counting.close();
      }
    },
    close: () => plugin.close(),
  };
}
