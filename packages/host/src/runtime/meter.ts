import { FuelMeter, ResourceExhaustedError, type MeteringMeta } from "@clawft/metering";

/** The in-worker side of metering: the fuel meter of one guest instance. */
export interface WorkerMeter {
  /** Sets the fuel budget of the next call (fuel is reset every call, T45). */
  setBudget(budget: number): void;
  /** Fuel consumed since the last `setBudget`. */
  consumed(): number;
  /** Merges the meter's runtime imports into what the glue passes for `module`. */
  withImports(module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.Imports;
  /** After a throw out of the guest: the exhausted resource, if that was the cause. */
  exhausted(error: unknown): { kind: "fuel" | "memory" | "table"; limit: number; used: number; message: string } | undefined;
}

/**
 * One FuelMeter per guest instance, shared by all its core modules (a component
 * has several): they import the same fuel global, so the budget is per call and
 * per instance, never shared with another plugin.
 */
export function createWorkerMeter(metering: unknown, moduleNames: Map<WebAssembly.Module, string>): WorkerMeter {
  const metas = (metering ?? {}) as Record<string, MeteringMeta>;
  const meter = new FuelMeter();
  return {
    setBudget(budget: number) {
      meter.setBudget(Math.max(1, Math.floor(budget)));
    },
    consumed: () => Math.max(0, meter.consumed),
    withImports(module, imports) {
      const name = moduleNames.get(module);
      const meta = name === undefined ? undefined : metas[name];
      if (!meta) throw new Error("missing metering data for a core module");
      return { ...imports, ...meter.importsFor(meta) } as WebAssembly.Imports;
    },
    exhausted(error: unknown) {
      const ex = meter.exhausted ?? (ResourceExhaustedError.isInstance(error) ? error : undefined);
      if (!ex || ex.kind === "timeout") return undefined;
      return { kind: ex.kind, limit: ex.limit, used: ex.used, message: ex.message };
    },
  };
}
