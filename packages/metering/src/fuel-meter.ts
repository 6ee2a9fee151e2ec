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
}

/** The functions and global a metered module imports from {@link METERING_IMPORT_MODULE}. */
export type MeteringImports = {
  /** The remaining fuel (i64, mutable); shared by every core module of one instance. */
  fuel: WebAssembly.Global;
  /** Called by the guest when `fuel` went below zero; always throws ResourceExhaustedError("fuel"). */
  out_of_fuel: () => never;
  /** Called by the guest before a `memory.grow` that will fail (return -1): records kind "memory". */
  memory_grow_failed: (currentPages: number, deltaPages: number, maxPages: number) => void;
  /** Called by the guest before a `table.grow` that will fail (return -1): records kind "table". */
  table_grow_failed: (currentElements: number, deltaElements: number, maxElements: number) => void;
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

/**
 * The runtime side of metering, one per plugin instance (never shared: two
 * instances sharing a meter would share a budget). Give `meter.imports` (or
 * `meter.importsFor(meta)`) to every core module of the instance, call
 * `meter.reset()` (or `setBudget(n)`) at the start of every call, and after a
 * trap read `meter.exhausted` to learn whether the guest died of fuel, memory
 * or table.
 */
export class FuelMeter {
  /** The fuel counter: remaining units, as an i64 WebAssembly global. */
  readonly fuel: WebAssembly.Global;
  readonly #onExhausted: ((error: ResourceExhaustedError) => void) | undefined;
  #budget: number;
  #exhausted: ResourceExhaustedError | undefined;
  readonly #imports: MeteringImports;

  constructor(options: FuelMeterOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new MeteringError("METERING_INVALID_OPTIONS", "options must be an object");
    }
    this.#budget = checkBudget(options.budget ?? RESOURCE_DEFAULTS.maxFuel);
    if (options.onExhausted !== undefined && typeof options.onExhausted !== "function") {
      throw new MeteringError("METERING_INVALID_OPTIONS", "onExhausted must be a function");
    }
    this.#onExhausted = options.onExhausted;
    this.fuel = new WebAssembly.Global({ value: "i64", mutable: true }, BigInt(this.#budget));
    this.#imports = Object.freeze({
      fuel: this.fuel,
      out_of_fuel: (): never => {
        const error = new ResourceExhaustedError("fuel", this.#budget, this.consumed);
        // Fuel is what stopped the guest, even if a failed grow was recorded before.
        this.#record(error, true);
        throw error;
      },
      memory_grow_failed: (current: number, delta: number, max: number): void => {
        const used = ((current >>> 0) + (delta >>> 0)) * WASM_PAGE_BYTES;
        this.#record(new ResourceExhaustedError("memory", (max >>> 0) * WASM_PAGE_BYTES, used), false);
      },
      table_grow_failed: (current: number, delta: number, max: number): void => {
        this.#record(new ResourceExhaustedError("table", max >>> 0, (current >>> 0) + (delta >>> 0)), false);
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

  /** Starts a new call: the full budget again, no exhaustion recorded. */
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
    if (meta.version !== METERING_META_VERSION || meta.importModule !== METERING_IMPORT_MODULE) {
      throw new MeteringError(
        "METERING_INVALID_OPTIONS",
        `meta must come from metering version ${METERING_META_VERSION} (got ${String(meta.version)})`,
      );
    }
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
