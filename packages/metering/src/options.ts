import { MeteringError } from "./errors.js";

export const WASM_PAGE_BYTES = 65_536;
const MiB = 1024 * 1024;

/** Defaults and hard maxima of {@link MeterOptions} (the manifest's `resources`, sandbox-policy README). */
export const METERING_LIMITS = Object.freeze({
  defaultMaxMemoryBytes: 16 * MiB,
  hardMaxMemoryBytes: 256 * MiB,
  defaultMaxTableElements: 10_000,
  hardMaxTableElements: 100_000,
  /** Largest budget a {@link FuelMeter} accepts (the manifest's hard maximum of `max_fuel`). */
  maxFuelBudget: 10_000_000_000,
});

/** Options of `meterModule`. All optional. */
export interface MeterOptions {
  /**
   * Insert the fuel counter (function entries, loop headers, `if` arms).
   * @default true
   */
  fuel?: boolean;
  /**
   * Cap on every memory, in bytes; rounded down to whole 64 KiB pages. At most
   * 256 MiB. A module whose initial memory is larger is refused.
   * @default 16777216 (16 MiB)
   */
  maxMemoryBytes?: number;
  /**
   * Cap on every table, in elements. At most 100,000. A module whose initial
   * table is larger is refused.
   * @default 10000
   */
  maxTableElements?: number;
}

/** {@link MeterOptions} resolved once: frozen, every field present. */
export interface ResolvedMeterOptions {
  readonly fuel: boolean;
  readonly maxMemoryBytes: number;
  readonly maxMemoryPages: number;
  readonly maxTableElements: number;
}

function positiveInteger(name: string, value: unknown, hardMax: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new MeteringError("METERING_INVALID_OPTIONS", `${name} must be a positive integer`);
  }
  if (value > hardMax) {
    throw new MeteringError("METERING_INVALID_OPTIONS", `${name} must be at most ${hardMax}`);
  }
  return value;
}

/** Validates and freezes {@link MeterOptions}; bad input throws naming the field. */
export function resolveMeterOptions(options: MeterOptions = {}): ResolvedMeterOptions {
  if (typeof options !== "object" || options === null) {
    throw new MeteringError("METERING_INVALID_OPTIONS", "options must be an object");
  }
  const fuel = options.fuel ?? true;
  if (typeof fuel !== "boolean") {
    throw new MeteringError("METERING_INVALID_OPTIONS", "fuel must be a boolean");
  }
  const maxMemoryBytes = positiveInteger(
    "maxMemoryBytes",
    options.maxMemoryBytes ?? METERING_LIMITS.defaultMaxMemoryBytes,
    METERING_LIMITS.hardMaxMemoryBytes,
  );
  const maxMemoryPages = Math.floor(maxMemoryBytes / WASM_PAGE_BYTES);
  if (maxMemoryPages < 1) {
    throw new MeteringError("METERING_INVALID_OPTIONS", `maxMemoryBytes must be at least ${WASM_PAGE_BYTES} (one page)`);
  }
  const maxTableElements = positiveInteger(
    "maxTableElements",
    options.maxTableElements ?? METERING_LIMITS.defaultMaxTableElements,
    METERING_LIMITS.hardMaxTableElements,
  );
  return Object.freeze({
    fuel,
    maxMemoryBytes: maxMemoryPages * WASM_PAGE_BYTES,
    maxMemoryPages,
    maxTableElements,
  });
}
