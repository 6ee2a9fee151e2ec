import { debuglog } from "node:util";
import { BinaryFormatError, patchLimits, readModuleShape, stripNameSection, type Limits, type ModuleShape } from "./binary.js";
import { MeteringError, ResourceExhaustedError } from "./errors.js";
import { instrumentBinary, type InstrumentResult } from "./rewrite/instrument.js";
import { UnsupportedFeatureError } from "./rewrite/opcodes.js";
import { METERING_IMPORT_MODULE, METERING_META_VERSION, type MeteredLimits, type MeteringMeta } from "./meta.js";

export { METERING_IMPORT_MODULE, METERING_META_VERSION, type MeteredLimits, type MeteringMeta };
import { resolveMeterOptions, WASM_PAGE_BYTES, type MeterOptions, type ResolvedMeterOptions } from "./options.js";

const debug = debuglog("clawft");

/**
 * The features a module may use, as a binaryen feature mask (the value is
 * kept from when binaryen did the rewriting, for API compatibility): MVP,
 * mutable globals, sign extension, non-trapping float-to-int, bulk memory
 * (and its opt extension), multi-value, reference types, overlong
 * call_indirect, extended const, SIMD, tail calls. Not included, so
 * refused: exception handling (a guest could catch the out-of-fuel trap and
 * keep running), threads/shared memory, memory64, multi-memory, GC, typed
 * function references, relaxed SIMD.
 */
export const SUPPORTED_FEATURES: number = 1582014;

const SUPPORTED_TEXT =
  "supported: MVP, mutable globals, sign extension, non-trapping float-to-int, bulk memory, multi-value, reference types, extended const, SIMD, tail calls";

export interface MeterResult {
  /** The metered module: validates with `WebAssembly.validate`. */
  bytes: Uint8Array;
  meta: MeteringMeta;
}

export type WasmBytes = Uint8Array | ArrayBuffer;

export function toUint8Array(bytes: WasmBytes): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  throw new MeteringError("METERING_INVALID_OPTIONS", "bytes must be a Uint8Array or an ArrayBuffer");
}

function invalid(bytes: Uint8Array, cause?: unknown): MeteringError {
  let detail = "";
  try {
    new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    detail = e instanceof Error ? `: ${e.message}` : "";
  }
  return new MeteringError("METERING_INVALID", `module is not valid WebAssembly${detail}`, cause === undefined ? {} : { cause });
}

/**
 * Writes the capped memory/table maxima into the instrumented bytes and describes
 * the result (shared with the tests' reference engine, so both report alike).
 */
export function finishMetering(
  out: Uint8Array,
  shape: ModuleShape,
  opts: ResolvedMeterOptions,
  result: { imports: string[]; stats: MeteringMeta["stats"] },
): MeterResult {
  const bytes = patchLimits(out, {
    memory: (l) => ({ ...l, max: capLimits(l, opts.maxMemoryPages) }),
    table: (l) => ({ ...l, max: capLimits(l, opts.maxTableElements) }),
  });
  const meta: MeteringMeta = {
    version: METERING_META_VERSION,
    importModule: METERING_IMPORT_MODULE,
    imports: result.imports,
    fuel: opts.fuel,
    maxMemoryBytes: opts.maxMemoryBytes,
    maxTableElements: opts.maxTableElements,
    memories: shape.memories.map((m) => ({ imported: m.imported, initial: m.limits.initial, max: capLimits(m.limits, opts.maxMemoryPages) })),
    tables: shape.tables.map((t) => ({ imported: t.imported, initial: t.limits.initial, max: capLimits(t.limits, opts.maxTableElements) })),
    stats: result.stats,
  };
  return { bytes, meta };
}

function capLimits(l: Limits, cap: number): number {
  return l.max === undefined ? cap : Math.min(l.max, cap);
}

/**
 * Rewrites a core WebAssembly module so that it cannot run or grow without
 * limit: a fuel counter (see the README's cost model), memory and table
 * maxima capped, and failed grows reported to the host. Throws
 * {@link MeteringError} (`METERING_INVALID`, `METERING_UNSUPPORTED`,
 * `METERING_INVALID_OPTIONS`) or, when the module's initial memory or table is
 * already above the cap, {@link ResourceExhaustedError} (`kind` memory/table).
 * Never returns a module that is unmetered or that does not validate.
 */
export function meterModule(bytes: WasmBytes, options: MeterOptions = {}): MeterResult {
  return meterModuleResolved(toUint8Array(bytes), resolveMeterOptions(options));
}

export function meterModuleResolved(input: Uint8Array, opts: ResolvedMeterOptions): MeterResult {
  const started = performance.now();
  if (!WebAssembly.validate(input as Uint8Array<ArrayBuffer>)) throw invalid(input);
  let shape;
  try {
    shape = readModuleShape(input);
  } catch (e) {
    if (e instanceof BinaryFormatError) {
      throw new MeteringError("METERING_UNSUPPORTED", `module cannot be metered: ${e.message}`, { cause: e });
    }
    throw e;
  }

  /** A guest that imports the runtime's names itself could write the fuel counter (refill its own budget). */
  const reserved = shape.imports.find((i) => i.module === METERING_IMPORT_MODULE);
  if (reserved) {
    throw new MeteringError(
      "METERING_UNSUPPORTED",
      `module imports "${reserved.module}"."${reserved.name}": the "${METERING_IMPORT_MODULE}" namespace is reserved for the metering runtime (already metered?)`,
    );
  }
  if (shape.memories.length > 1) {
    throw new MeteringError("METERING_UNSUPPORTED", `module has ${shape.memories.length} memories: only one memory is supported`);
  }
  const memory = shape.memories[0];
  if (memory?.limits.shared) {
    throw new MeteringError("METERING_UNSUPPORTED", "module has a shared memory: threads are not supported");
  }
  /** A module that starts above the cap would get the memory without ever calling memory.grow. */
  if (memory && memory.limits.initial > opts.maxMemoryPages) {
    throw new ResourceExhaustedError("memory", opts.maxMemoryBytes, memory.limits.initial * WASM_PAGE_BYTES, {
      message: `resource exhausted: memory (the module's initial memory of ${memory.limits.initial * WASM_PAGE_BYTES} bytes is above the cap of ${opts.maxMemoryBytes} bytes)`,
    });
  }
  shape.tables.forEach((t, i) => {
    if (t.limits.initial > opts.maxTableElements) {
      throw new ResourceExhaustedError("table", opts.maxTableElements, t.limits.initial, {
        message: `resource exhausted: table (table ${i} starts with ${t.limits.initial} elements, above the cap of ${opts.maxTableElements})`,
      });
    }
  });
  const memoryMaxPages = memory ? capLimits(memory.limits, opts.maxMemoryPages) : undefined;
  const tableMaxElements = shape.tables.map((t) => capLimits(t.limits, opts.maxTableElements));

  let result: InstrumentResult;
  try {
    result = instrumentBinary(stripNameSection(input), {
      fuel: opts.fuel,
      importModule: METERING_IMPORT_MODULE,
      memoryMaxPages,
      tableMaxElements,
    });
  } catch (e) {
    if (e instanceof UnsupportedFeatureError) {
      throw new MeteringError("METERING_UNSUPPORTED", `module uses a WebAssembly feature that cannot be metered (${e.reason}); ${SUPPORTED_TEXT}`, { cause: e });
    }
    /** Never crash on odd input (or a rewriter bug): refuse the module rather than hand out something half-metered. */
    throw new MeteringError("METERING_UNSUPPORTED", `module cannot be metered: ${errorText(e)}`, { cause: e });
  }
  const { bytes, meta } = finishMetering(result.bytes, shape, opts, result);
  /** Last line of defence: never hand out a module V8 would reject. */
  if (!WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) {
    throw new MeteringError("METERING_UNSUPPORTED", "internal: the metered module does not validate; refusing it");
  }
  debug("metering: %d bytes -> %d bytes in %s ms (%o)", input.length, bytes.length, (performance.now() - started).toFixed(1), result.stats);
  return { bytes, meta };
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "object" && e !== null && "message" in e) return String((e as { message: unknown }).message);
  return String(e);
}
