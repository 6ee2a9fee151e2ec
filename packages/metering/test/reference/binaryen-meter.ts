/**
 * The previous engine (binaryen 132: readBinary, walk, emitBinary), kept
 * for the differential tests and the bench baseline only: the same module
 * through both engines must behave the same. Not on the runtime path.
 */
import binaryen from "binaryen";
import { patchLimits, readModuleShape, stripNameSection, type Limits } from "../../src/binary.js";
import { METERING_IMPORT_MODULE, METERING_META_VERSION, type MeteringMeta } from "../../src/meta.js";
import { resolveMeterOptions, type MeterOptions } from "../../src/options.js";
import { instrumentModule } from "./binaryen-instrument.js";

const FEATURES =
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

function cap(l: Limits, max: number): number {
  return l.max === undefined ? max : Math.min(l.max, max);
}

/** Meters `input` with the binaryen engine (input must be meterable: no refusal checks here). */
export function meterWithBinaryen(input: Uint8Array, options: MeterOptions = {}): { bytes: Uint8Array; meta: MeteringMeta } {
  const opts = resolveMeterOptions(options);
  const shape = readModuleShape(input);
  const memory = shape.memories[0];
  const module = binaryen.readBinary(stripNameSection(input));
  let out: Uint8Array;
  let result;
  try {
    module.setFeatures(FEATURES);
    result = instrumentModule(module, {
      fuel: opts.fuel,
      importModule: METERING_IMPORT_MODULE,
      memoryMaxPages: memory ? cap(memory.limits, opts.maxMemoryPages) : undefined,
      tableMaxElements: shape.tables.map((t) => cap(t.limits, opts.maxTableElements)),
    });
    out = module.emitBinary();
  } finally {
    module.dispose();
  }
  const bytes = patchLimits(out, {
    memory: (l) => ({ ...l, max: cap(l, opts.maxMemoryPages) }),
    table: (l) => ({ ...l, max: cap(l, opts.maxTableElements) }),
  });
  const meta: MeteringMeta = {
    version: METERING_META_VERSION,
    importModule: METERING_IMPORT_MODULE,
    imports: result.imports,
    fuel: opts.fuel,
    maxMemoryBytes: opts.maxMemoryBytes,
    maxTableElements: opts.maxTableElements,
    memories: shape.memories.map((m) => ({ imported: m.imported, initial: m.limits.initial, max: cap(m.limits, opts.maxMemoryPages) })),
    tables: shape.tables.map((t) => ({ imported: t.imported, initial: t.limits.initial, max: cap(t.limits, opts.maxTableElements) })),
    stats: result.stats,
  };
  return { bytes, meta };
}
