import { debuglog } from "node:util";
import binaryen from "binaryen";
import { BinaryFormatError, patchLimits, readModuleShape, stripNameSection, type Limits } from "./binary.js";
import { MeteringError, ResourceExhaustedError } from "./errors.js";
import { expressionKindName, instrumentModule, UnsupportedExpressionError } from "./instrument.js";
import { METERING_IMPORT_MODULE, METERING_META_VERSION, type MeteredLimits, type MeteringMeta } from "./meta.js";

export { METERING_IMPORT_MODULE, METERING_META_VERSION, type MeteredLimits, type MeteringMeta };
import { resolveMeterOptions, WASM_PAGE_BYTES, type MeterOptions, type ResolvedMeterOptions } from "./options.js";

const debug = debuglog("clawft");


/**
 * The features a module may use. Each was checked to round-trip through
 * binaryen 132 and to validate in Node's V8. Not included, so refused:
 * exception handling (a guest could catch the out-of-fuel trap and keep
 * running), threads/shared memory, memory64, multi-memory, GC, relaxed SIMD.
 */
export const SUPPORTED_FEATURES: number =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.SignExt |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.Multivalue |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.CallIndirectOverlong |
  binaryen.Features.ExtendedConst |
  binaryen.Features.SIMD128 |
  binaryen.Features.TailCall;


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

  let module: binaryen.Module;
  try {
    module = binaryen.readBinary(stripNameSection(input));
  } catch (e) {
    throw new MeteringError("METERING_UNSUPPORTED", `binaryen cannot read the module: ${errorText(e)}`, { cause: e });
  }
  let out: Uint8Array;
  let result;
  try {
    module.setFeatures(SUPPORTED_FEATURES);
    const validation = captureStderr(() => module.validate());
    if (!validation.value) {
      const reason = /unexpected false: ([^\n]*?)(?:, on\s*$|\n|$)/m.exec(validation.output)?.[1];
      throw new MeteringError(
        "METERING_UNSUPPORTED",
        `module uses a WebAssembly feature that cannot be metered${reason ? ` (${reason})` : ""}; supported: MVP, mutable globals, sign extension, non-trapping float-to-int, bulk memory, multi-value, reference types, extended const, SIMD, tail calls`,
      );
    }
    if (module.getNumTables() !== shape.tables.length) throw new Error("internal: table count differs from binaryen's");
    try {
      result = instrumentModule(module, {
        fuel: opts.fuel,
        importModule: METERING_IMPORT_MODULE,
        memoryMaxPages,
        tableMaxElements,
      });
    } catch (e) {
      if (e instanceof UnsupportedExpressionError) {
        throw new MeteringError("METERING_UNSUPPORTED", `module contains an instruction that cannot be metered (${expressionKindName(e.expressionId)})`, { cause: e });
      }
      throw e;
    }
    out = module.emitBinary();
  } catch (e) {
    if (MeteringError.isInstance(e)) throw e;
    // binaryen reports internal failures as exceptions or aborts: refuse the module, never crash.
    throw new MeteringError("METERING_UNSUPPORTED", `module cannot be metered: ${errorText(e)}`, { cause: e });
  } finally {
    module.dispose();
  }

  const bytes = patchLimits(out, {
    memory: (l) => ({ ...l, max: capLimits(l, opts.maxMemoryPages) }),
    table: (l) => ({ ...l, max: capLimits(l, opts.maxTableElements) }),
  });
  /** Last line of defence: never hand out a module V8 would reject. */
  if (!WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) {
    throw new MeteringError("METERING_UNSUPPORTED", "internal: the metered module does not validate; refusing it");
  }
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
  debug("metering: %d bytes -> %d bytes in %s ms (%o)", input.length, bytes.length, (performance.now() - started).toFixed(1), result.stats);
  return { bytes, meta };
}

/**
 * Runs `f` with process.stderr captured: binaryen's validator prints its
 * findings there (through console.error). Synchronous, restored in finally.
 */
function captureStderr<T>(f: () => T): { value: T; output: string } {
  const stderr = process.stderr;
  const original = Object.getOwnPropertyDescriptor(stderr, "write");
  let output = "";
  const write = (chunk: unknown, ...rest: unknown[]): boolean => {
    output += typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
    const callback = rest.find((r): r is () => void => typeof r === "function");
    callback?.();
    return true;
  };
  Object.defineProperty(stderr, "write", { value: write, configurable: true, writable: true });
  try {
    const value = f();
    return { value, output };
  } finally {
    if (original) Object.defineProperty(stderr, "write", original);
    else delete (stderr as { write?: unknown }).write;
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "object" && e !== null && "message" in e) return String((e as { message: unknown }).message);
  return String(e);
}
