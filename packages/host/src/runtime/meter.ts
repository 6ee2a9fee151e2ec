/**
 * The in-worker runtime of @clawft/metering's instrumentation: the fuel counter
 * and the grow-failure hooks a metered core module imports from `clawft:metering`.
 *
 * Why not @clawft/metering's `FuelMeter` here: importing that package loads
 * binaryen (and zod through @clawft/sandbox-policy), seconds of start-up for
 * every plugin worker. This file implements the same documented import contract
 * (metering README, `MeteringImports`: an i64 `fuel` global holding the remaining
 * units, `out_of_fuel`, `memory_grow_failed`, `table_grow_failed`) with no
 * dependency, and refuses modules metered by another version of the contract.
 * The main thread turns what it reports into a real `ResourceExhaustedError`.
 */

/** The only `MeteringMeta.version` this runtime implements. */
export const SUPPORTED_METERING_VERSION = 1;
const IMPORT_MODULE = "clawft:metering";
const PAGE = 65536;

interface MeteringMetaLike {
  version: number;
  importModule: string;
  imports: string[];
}

export type Exhausted = { kind: "fuel" | "memory" | "table"; limit: number; used: number; message: string };

/** The fuel meter of one guest instance (never shared between instances or plugins). */
export interface WorkerMeter {
  /** Sets the fuel budget of the next call: fuel is reset every call (T45). */
  setBudget(budget: number): void;
  /** Fuel consumed since the last `setBudget`. */
  consumed(): number;
  /** Merges the meter's runtime imports into what the glue passes for `module`. */
  withImports(module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.Imports;
  /** After a throw out of the guest: the exhausted resource, if that was the cause. */
  exhausted(error: unknown): Exhausted | undefined;
}

/** Thrown into the guest when fuel runs out (a trap the guest cannot catch: no exception handling). */
class OutOfFuel extends Error {}

export function createWorkerMeter(metering: unknown, moduleNames: Map<WebAssembly.Module, string>): WorkerMeter {
  const metas = (metering ?? {}) as Record<string, MeteringMetaLike>;
  const fuel = new WebAssembly.Global({ value: "i64", mutable: true }, 0n);
  let budget = 0;
  let exhausted: Exhausted | undefined;
  const consumed = (): number => budget - Number(fuel.value as bigint);
  const record = (e: Exhausted, override: boolean): void => {
    if (exhausted === undefined || override) exhausted = e;
  };
  const runtime: Record<string, unknown> = {
    fuel,
    out_of_fuel: (): never => {
      const used = consumed();
      record({ kind: "fuel", limit: budget, used, message: `resource exhausted: fuel (used ${used} of ${budget} fuel units)` }, true);
      throw new OutOfFuel("out of fuel");
    },
    memory_grow_failed: (current: number, delta: number, max: number): void => {
      const used = ((current >>> 0) + (delta >>> 0)) * PAGE;
      const limit = (max >>> 0) * PAGE;
      record({ kind: "memory", limit, used, message: `resource exhausted: memory (used ${used} of ${limit} bytes)` }, false);
    },
    table_grow_failed: (current: number, delta: number, max: number): void => {
      const used = (current >>> 0) + (delta >>> 0);
      const limit = max >>> 0;
      record({ kind: "table", limit, used, message: `resource exhausted: table (used ${used} of ${limit} elements)` }, false);
    },
  };
  return {
    setBudget(b: number) {
      budget = Math.max(1, Math.floor(b));
      fuel.value = BigInt(budget);
      exhausted = undefined;
    },
    consumed: () => Math.max(0, consumed()),
    withImports(module, imports) {
      const name = moduleNames.get(module);
      const meta = name === undefined ? undefined : metas[name];
      if (!meta) throw new Error("missing metering data for a core module");
      if (meta.version !== SUPPORTED_METERING_VERSION || meta.importModule !== IMPORT_MODULE) {
        throw new Error(`core module metered with an unsupported metering version ${String(meta.version)}`);
      }
      const entries: Record<string, unknown> = {};
      for (const field of meta.imports) {
        if (!Object.prototype.hasOwnProperty.call(runtime, field)) throw new Error(`unknown metering import ${field}`);
        entries[field] = runtime[field];
      }
      return { ...imports, [IMPORT_MODULE]: entries } as WebAssembly.Imports;
    },
    exhausted(error: unknown) {
      if (exhausted) return exhausted;
      return error instanceof OutOfFuel ? { kind: "fuel", limit: budget, used: consumed(), message: "out of fuel" } : undefined;
    },
  };
}
