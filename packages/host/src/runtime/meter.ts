/**
 * The fuel meter and resource limiter of one guest instance inside its worker:
 * @clawft/metering's `FuelMeter` (its `/runtime` entry: no binaryen, no schema
 * library, ~10 ms to import), fed with the metering data of each core module the
 * host compiled. Never shared between instances or plugins.
 */
import { FuelMeter, ResourceExhaustedError, type MeteringMeta } from "@clawft/metering/runtime";

export type Exhausted = { kind: "fuel" | "memory" | "table" | "timeout"; limit: number; used: number; message: string };

/** What one plugin instance (all the core instances in its worker) may create and hold. */
export interface InstanceLimits {
  /** Linear memory summed over every memory of the instance, initial sizes included (bytes). */
  maxMemoryBytes: number;
  /** Table elements summed over every table of the instance. */
  maxTableElements: number;
  /** Core module instances the component may create. */
  maxCoreInstances: number;
  /** Memories the instance's core modules may define (imported ones are not counted again). */
  maxMemories: number;
  /** Tables the instance's core modules may define. */
  maxTables: number;
}

/** Codes of {@link InstanceLimitError} (the host reports them as `PluginError` codes). */
export type InstanceLimitCode = "PLUGIN_TOO_MANY_INSTANCES" | "PLUGIN_TOO_MANY_MEMORIES" | "PLUGIN_TOO_MANY_TABLES";

/** A component tried to create more core instances, memories or tables than its instance may. */
export class InstanceLimitError extends Error {
  constructor(
    readonly code: InstanceLimitCode,
    message: string,
    readonly limit: number,
    readonly used: number,
  ) {
    super(message);
    this.name = "InstanceLimitError";
  }
}

export interface WorkerMeter {
  /** Sets the fuel budget of the next call: fuel is reset every call (T45). */
  setBudget(budget: number): void;
  /** Fuel consumed since the last `setBudget`. */
  consumed(): number;
  /**
   * Counts a core instance about to be created from `module` and merges the
   * meter's runtime imports into what the glue passes for it. Throws before
   * anything is allocated: {@link InstanceLimitError} past `maxCoreInstances`,
   * `maxMemories` or `maxTables`; `ResourceExhaustedError` (memory/table) when
   * its initial memory or tables would take the instance's sum over its budget.
   * Refuses a module with no metering data: nothing unmetered runs.
   */
  withImports(module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.Imports;
  /** After a throw out of the guest: the exhausted resource, if that was the cause. */
  exhausted(error: unknown): Exhausted | undefined;
  /** Linear memory held by the instance, summed over all its memories (exported or not), in bytes. */
  memoryBytes(): number;
  /** Core instances, memories and tables created so far. */
  readonly counts: { coreInstances: number; memories: number; tables: number };
}

export function createWorkerMeter(
  metering: unknown,
  moduleNames: Map<WebAssembly.Module, string>,
  limits: InstanceLimits,
): WorkerMeter {
  const metas = (metering ?? {}) as Record<string, MeteringMeta>;
  const meter = new FuelMeter({ budget: 1, maxMemoryBytes: limits.maxMemoryBytes, maxTableElements: limits.maxTableElements });
  const counts = { coreInstances: 0, memories: 0, tables: 0 };

  /**
   * Bounds what a component can make the worker allocate: each core instance may
   * define its own memory and tables, and the component decides how many core
   * instances it creates (a 2 KB component can ask for hundreds). Counted before
   * `new WebAssembly.Instance`, so the (N+1)th is never created.
   */
  function admitInstance(meta: MeteringMeta): void {
    const memories = meta.memories.filter((m) => !m.imported).length;
    const tables = meta.tables.filter((t) => !t.imported).length;
    if (counts.coreInstances + 1 > limits.maxCoreInstances) {
      throw new InstanceLimitError(
        "PLUGIN_TOO_MANY_INSTANCES",
        `too many core instances: the plugin creates more than ${limits.maxCoreInstances} core module instances (maxCoreInstances)`,
        limits.maxCoreInstances,
        counts.coreInstances + 1,
      );
    }
    if (counts.memories + memories > limits.maxMemories) {
      throw new InstanceLimitError(
        "PLUGIN_TOO_MANY_MEMORIES",
        `too many memories: the plugin defines more than ${limits.maxMemories} linear memories (maxMemories)`,
        limits.maxMemories,
        counts.memories + memories,
      );
    }
    if (counts.tables + tables > limits.maxTables) {
      throw new InstanceLimitError(
        "PLUGIN_TOO_MANY_TABLES",
        `too many tables: the plugin defines more than ${limits.maxTables} tables (maxTables)`,
        limits.maxTables,
        counts.tables + tables,
      );
    }
    // Initial sizes against the summed budgets (throws ResourceExhaustedError, counts nothing).
    meter.admit(meta);
    counts.coreInstances++;
    counts.memories += memories;
    counts.tables += tables;
  }

  return {
    setBudget(budget) {
      meter.setBudget(Math.max(1, Math.floor(budget)));
    },
    consumed: () => Math.max(0, meter.consumed),
    withImports(module, imports) {
      const name = moduleNames.get(module);
      const meta = name === undefined ? undefined : metas[name];
      if (!meta) throw new Error("missing metering data for a core module");
      const metered = meter.importsFor(meta);
      admitInstance(meta);
      return { ...imports, ...metered } as WebAssembly.Imports;
    },
    exhausted(error) {
      const e = meter.exhausted ?? (ResourceExhaustedError.isInstance(error) ? error : undefined);
      if (e === undefined || e.kind === "timeout") return undefined;
      return { kind: e.kind, limit: e.limit, used: e.used, message: e.message };
    },
    memoryBytes: () => meter.memoryBytes,
    counts,
  };
}
