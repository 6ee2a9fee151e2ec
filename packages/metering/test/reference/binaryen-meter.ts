/**
 * The previous engine (binaryen 132: readBinary, walk, emitBinary), kept
 * for the differential tests and the bench baseline only: the same module
 * through both engines must behave the same. Not on the runtime path.
 */
import binaryen from "binaryen";
import { readModuleShape, stripNameSection, type Limits } from "../../src/binary.js";
import { METERING_IMPORT_MODULE, type MeteringMeta } from "../../src/meta.js";
import { finishMetering } from "../../src/meter-module.js";
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
  return finishMetering(out, shape, opts, result);
}
