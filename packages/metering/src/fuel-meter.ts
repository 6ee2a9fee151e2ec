import { channel } from "node:diagnostics_channel";
import { debuglog } from "node:util";
import { RESOURCE_DEFAULTS } from "@clawft/sandbox-policy/core";
import { MeteringError, ResourceExhaustedError, type ResourceKind } from "./errors.js";
import { METERING_IMPORT_MODULE, METERING_META_VERSION, type MeteringMeta } from "./meta.js";
import { METERING_LIMITS, WASM_PAGE_BYTES } from "./options.js";

const debug = debuglog("clawft");

/** `node:diagnostics_channel` channel on which every recorded exhaustion is published. */
export const METERING_CHANNEL = "clawft:metering";
const diagnostics = channel(METERING_CHANNEL);

/** Published on {@link METERING_CHANNEL}. */
export interface MeteringExhaustedEvent {
  type: "resource-exhausted";
  kind: ResourceKind;
  limit: number;
  used: number;
}

/** Options of {@link FuelMeter}. */
export interface FuelMeterOptions {
  /**
   * Fuel units a call may use (see the README's cost model). At most 1e10.
   * @default 1_000_000_000
   */
  budget?: number;
  /** Called once for each exhaustion the meter records (fuel, memory, table, timeout). */
  onExhausted?: (error: ResourceExhaustedError) => void;
  /**
   * Linear memory the whole instance may hold, in bytes: the **sum** over every
   * memory of every core module instance that uses this meter, initial sizes
   * included (see {@link FuelMeter.admit}). Rounded down to 64 KiB pages; at
   * most 256 MiB.
   * @default 16777216 (16 MiB)
   */
  maxMemoryBytes?: number;
  /**
   * Table elements the whole instance may hold: the sum over every table of
   * every core module instance that uses this meter. At most 100,000.
   * @default 10000
   */
  maxTableElements?: number;
}

/**
 * The fuel counter: an i64 `WebAssembly.Global` at run time. Declared structurally so the
 * published `.d.ts` type-checks with only `@types/node` (whose globals have no `WebAssembly`).
 */
export interface FuelGlobal {
  /** Remaining fuel units (i64, so a bigint). */
  value: bigint;
}

/** The functions and global a metered module imports from {@link METERING_IMPORT_MODULE}. */
export type MeteringImports = {
  /** The remaining fuel (i64, mutable); shared by every core module of one instance. */
  fuel: FuelGlobal;
  /** Called by the guest when `fuel` went below zero; always throws ResourceExhaustedError("fuel"). */
  out_of_fuel: () => never;
  /**
   * The resource limiter, called by the guest before every `memory.grow` with the
   * memory's size, the delta and the memory's own maximum (pages). Returns the
   * delta to grow by: `deltaPages`, or -1 (a grow that always fails) when the
   * grow is over the memory's maximum or would take the instance's total over
   * `maxMemoryBytes`; then records kind "memory".
   */
  memory_grow: (currentPages: number, deltaPages: number, maxPages: number) => number;
  /** The same for `table.grow` (elements), against `maxTableElements`; records kind "table". */
  table_grow: (currentElements: number, deltaElements: number, maxElements: number) => number;
};

export type MeteringImportObject = Record<string, Partial<MeteringImports>>;

function checkBudget(budget: unknown): number {
  if (typeof budget !== "number" || !Number.isSafeInteger(budget) || budget <= 0) {
    throw new MeteringError("METERING_INVALID_OPTIONS", "budget must be a positive integer");
  }
  if (budget > METERING_LIMITS.maxFuelBudget) {
    throw new MeteringError("METERING_INVALID_OPTIONS", `budget must be at most ${METERING_LIMITS.maxFuelBudget}`);
  }
  return budget;
}

function checkLimit(name: string, value: unknown, hardMax: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new MeteringError("METERING_INVALID_OPTIONS", `${name} must be a positive integer`);
  }
  if (value > hardMax) throw new MeteringError("METERING_INVALID_OPTIONS", `${name} must be at most ${hardMax}`);
  return value;
}

/** A grow delta no memory or table can satisfy: `memory.grow`/`table.grow` then return -1. */
const REFUSE_GROW = -1;

/**
 * The runtime side of metering, one per plugin instance (never shared: two
 * instances sharing a meter would share a budget). Give `meter.imports` (or
 * `meter.importsFor(meta)`) to every core module of the instance, call
 * `meter.admit(meta)` right before instantiating each one, call
 * `meter.reset()` (or `setBudget(n)`) at the start of every call, and after a
 * trap read `meter.exhausted` to learn whether the guest died of fuel, memory
 * or table. It is also the instance's resource limiter: every `memory.grow` /
 * `table.grow` of every core module asks it, and it bounds the **sum** of all
 * memories (`maxMemoryBytes`) and tables (`maxTableElements`) of the instance.
 */
export class FuelMeter {
  /** The fuel counter: remaining units, as an i64 WebAssembly global. */
  readonly fuel: FuelGlobal;
  readonly #onExhausted: ((error: ResourceExhaustedError) => void) | undefined;
  #budget: number;
  #exhausted: ResourceExhaustedError | undefined;
  readonly #imports: MeteringImports;
  readonly #maxMemoryBytes: number;
  readonly #maxTableElements: number;
  #memoryBytes = 0;
  #tableElements = 0;

  constructor(options: FuelMeterOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new MeteringError("METERING_INVALID_OPTIONS", "options must be an object");
    }
    this.#budget = checkBudget(options.budget ?? RESOURCE_DEFAULTS.maxFuel);
    if (options.onExhausted !== undefined && typeof options.onExhausted !== "function") {
      throw new MeteringError("METERING_INVALID_OPTIONS", "onExhausted must be a function");
    }
    this.#onExhausted = options.onExhausted;
    const maxMemory = checkLimit("maxMemoryBytes", options.maxMemoryBytes ?? METERING_LIMITS.defaultMaxMemoryBytes, METERING_LIMITS.hardMaxMemoryBytes);
    if (maxMemory < WASM_PAGE_BYTES) {
      throw new MeteringError("METERING_INVALID_OPTIONS", `maxMemoryBytes must be at least ${WASM_PAGE_BYTES} (one page)`);
    }
    this.#maxMemoryBytes = Math.floor(maxMemory / WASM_PAGE_BYTES) * WASM_PAGE_BYTES;
    this.#maxTableElements = checkLimit(
      "maxTableElements",
      options.maxTableElements ?? METERING_LIMITS.defaultMaxTableElements,
      METERING_LIMITS.hardMaxTableElements,
    );
    this.fuel = new WebAssembly.Global({ value: "i64", mutable: true }, BigInt(this.#budget));
    this.#imports = Object.freeze({
      fuel: this.fuel,
      out_of_fuel: (): never => {
        const error = new ResourceExhaustedError("fuel", this.#budget, this.consumed);
        // Fuel is what stopped the guest, even if a failed grow was recorded before.
        this.#record(error, true);
        throw error;
      },
      /**
       * One limiter for the whole instance (wasmtime's ResourceLimiter): a component
       * that instantiates a module many times, each with its own memory, would
       * otherwise hold its cap once per memory.
       */
      memory_grow: (current: number, delta: number, max: number): number => {
        const pages = (current >>> 0) + (delta >>> 0);
        if (pages > max >>> 0) {
          this.#record(new ResourceExhaustedError("memory", (max >>> 0) * WASM_PAGE_BYTES, pages * WASM_PAGE_BYTES), false);
          return REFUSE_GROW;
        }
        const total = this.#memoryBytes + (delta >>> 0) * WASM_PAGE_BYTES;
        if (total > this.#maxMemoryBytes) {
          this.#record(memorySumError(this.#maxMemoryBytes, total), false);
          return REFUSE_GROW;
        }
        this.#memoryBytes = total;
        return delta;
      },
      table_grow: (current: number, delta: number, max: number): number => {
        const elements = (current >>> 0) + (delta >>> 0);
        if (elements > max >>> 0) {
          this.#record(new ResourceExhaustedError("table", max >>> 0, elements), false);
          return REFUSE_GROW;
        }
        const total = this.#tableElements + (delta >>> 0);
        if (total > this.#maxTableElements) {
          this.#record(tableSumError(this.#maxTableElements, total), false);
          return REFUSE_GROW;
        }
        this.#tableElements = total;
        return delta;
      },
    });
  }

  #record(error: ResourceExhaustedError, override: boolean): void {
    if (this.#exhausted !== undefined && !override) return;
    this.#exhausted = error;
    debug("metering: %s", error.message);
    if (diagnostics.hasSubscribers) {
      diagnostics.publish({ type: "resource-exhausted", kind: error.kind, limit: error.limit, used: error.used } satisfies MeteringExhaustedEvent);
    }
    this.#onExhausted?.(error);
  }

  /** The budget of each call, in fuel units. */
  get budget(): number {
    return this.#budget;
  }

  /** Sets a new budget and starts a new call ({@link reset}). */
  setBudget(budget: number): void {
    this.#budget = checkBudget(budget);
    this.reset();
  }

  /** Starts a new call: the full budget again, no exhaustion recorded (memory and tables stay counted: they do not shrink). */
  reset(): void {
    this.fuel.value = BigInt(this.#budget);
    this.#exhausted = undefined;
  }

  /**
   * Fuel used since the last reset. Can exceed the budget by the cost of the
   * last region (the counter is checked after the region's cost is taken).
   */
  get consumed(): number {
    return this.#budget - Number(this.fuel.value as bigint);
  }

  /** Fuel left (never negative). */
  get remaining(): number {
    return Math.max(0, Number(this.fuel.value as bigint));
  }

  /**
   * What the guest ran out of since the last reset, if anything: set by the
   * runtime imports before they throw (fuel) or before the guest sees a failed
   * grow (memory, table), or by {@link recordTimeout}. After a trap, report
   * this error instead of the trap; after a normal return, ignore it (the
   * guest handled the failed grow).
   */
  get exhausted(): ResourceExhaustedError | undefined {
    return this.#exhausted;
  }

  /** Linear memory held by the instance: the sum over every admitted memory (initial sizes plus granted grows), in bytes. */
  get memoryBytes(): number {
    return this.#memoryBytes;
  }

  /** Table elements held by the instance: the sum over every admitted table. */
  get tableElements(): number {
    return this.#tableElements;
  }

  /** The instance's memory budget (`maxMemoryBytes`, whole pages). */
  get maxMemoryBytes(): number {
    return this.#maxMemoryBytes;
  }

  /** The instance's table budget (`maxTableElements`). */
  get maxTableElements(): number {
    return this.#maxTableElements;
  }

  /**
   * Counts a new instance of a module metered with `meta` against the budgets:
   * the memories and tables it defines, at their initial sizes (imported ones were
   * counted where they are defined). Call it right before instantiating the
   * module. Throws {@link ResourceExhaustedError} (kind `memory` or `table`; the
   * meter records it too) and counts nothing when the sum would go over the
   * budget, so the memory is never allocated: a component could otherwise hold
   * many memories that each start just under the cap without ever growing one.
   */
  admit(meta: MeteringMeta): void {
    checkMeta(meta);
    let pages = 0;
    for (const m of meta.memories) if (!m.imported) pages += m.initial;
    let elements = 0;
    for (const t of meta.tables) if (!t.imported) elements += t.initial;
    const memory = this.#memoryBytes + pages * WASM_PAGE_BYTES;
    if (memory > this.#maxMemoryBytes) {
      const error = memorySumError(this.#maxMemoryBytes, memory);
      this.#record(error, false);
      throw error;
    }
    const table = this.#tableElements + elements;
    if (table > this.#maxTableElements) {
      const error = tableSumError(this.#maxTableElements, table);
      this.#record(error, false);
      throw error;
    }
    this.#memoryBytes = memory;
    this.#tableElements = table;
  }

  /** Records that the host stopped the call after `elapsedMs` (wall clock over `limitMs`). */
  recordTimeout(limitMs: number, elapsedMs: number): ResourceExhaustedError {
    const error = new ResourceExhaustedError("timeout", limitMs, elapsedMs);
    this.#record(error, true);
    return error;
  }

  /** Every runtime import, under {@link METERING_IMPORT_MODULE}: merge into each core module's imports. */
  get imports(): { [METERING_IMPORT_MODULE]: MeteringImports } {
    return { [METERING_IMPORT_MODULE]: this.#imports };
  }

  /**
   * The runtime imports a module metered with `meta` needs (exactly the fields
   * it imports). Throws METERING_INVALID_OPTIONS when `meta` comes from another
   * version of the instrumentation.
   */
  importsFor(meta: MeteringMeta): MeteringImportObject {
    checkMeta(meta);
    const entries: Partial<MeteringImports> = {};
    for (const name of meta.imports) {
      if (!Object.prototype.hasOwnProperty.call(this.#imports, name)) {
        throw new MeteringError("METERING_INVALID_OPTIONS", `meta.imports names an unknown runtime import: ${name}`);
      }
      (entries as Record<string, unknown>)[name] = this.#imports[name as keyof MeteringImports];
    }
    return { [METERING_IMPORT_MODULE]: entries };
  }
}

function checkMeta(meta: MeteringMeta): void {
  if (meta.version !== METERING_META_VERSION || meta.importModule !== METERING_IMPORT_MODULE) {
    throw new MeteringError(
      "METERING_INVALID_OPTIONS",
      `meta must come from metering version ${METERING_META_VERSION} (got ${String(meta.version)})`,
    );
  }
}

function memorySumError(limit: number, used: number): ResourceExhaustedError {
  return new ResourceExhaustedError("memory", limit, used, {
    message: `resource exhausted: memory (used ${used} of ${limit} bytes, summed over every memory of the instance)`,
  });
}

function tableSumError(limit: number, used: number): ResourceExhaustedError {
  return new ResourceExhaustedError("table", limit, used, {
    message: `resource exhausted: table (used ${used} of ${limit} table elements, summed over every table of the instance)`,
  });
}
