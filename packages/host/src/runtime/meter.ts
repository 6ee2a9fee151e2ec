/**
 * The fuel meter of one guest instance inside its worker: @clawft/metering's
 * `FuelMeter` (its `/runtime` entry: no binaryen, no schema library, ~10 ms to
 * import), fed with the metering data of each core module the host compiled.
 * Never shared between instances or plugins.
 */
import { FuelMeter, ResourceExhaustedError, type MeteringMeta } from "@clawft/metering/runtime";

export type Exhausted = { kind: "fuel" | "memory" | "table"; limit: number; used: number; message: string };

export interface WorkerMeter {
  /** Sets the fuel budget of the next call: fuel is reset every call (T45). */
  setBudget(budget: number): void;
  /** Fuel consumed since the last `setBudget`. */
  consumed(): number;
  /**
   * Merges the meter's runtime imports into what the glue passes for `module`.
   * Refuses a module with no metering data: nothing unmetered runs.
   */
  withImports(module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.Imports;
  /** After a throw out of the guest: the exhausted resource, if that was the cause. */
  exhausted(error: unknown): Exhausted | undefined;
}

export function createWorkerMeter(metering: unknown, moduleNames: Map<WebAssembly.Module, string>): WorkerMeter {
  const metas = (metering ?? {}) as Record<string, MeteringMeta>;
  const meter = new FuelMeter({ budget: 1 });
  return {
    setBudget(budget) {
      meter.setBudget(Math.max(1, Math.floor(budget)));
    },
    consumed: () => Math.max(0, meter.consumed),
    withImports(module, imports) {
      const name = moduleNames.get(module);
      const meta = name === undefined ? undefined : metas[name];
      if (!meta) throw new Error("missing metering data for a core module");
      return { ...imports, ...meter.importsFor(meta) } as WebAssembly.Imports;
    },
    exhausted(error) {
      const e = meter.exhausted ?? (ResourceExhaustedError.isInstance(error) ? error : undefined);
      if (e === undefined || e.kind === "timeout") return undefined;
      return { kind: e.kind, limit: e.limit, used: e.used, message: e.message };
    },
  };
}
