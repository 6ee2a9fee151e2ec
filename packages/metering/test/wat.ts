import binaryen from "binaryen";

/** Features the fixtures are written with (what meterModule accepts). */
export const FIXTURE_FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.SignExt |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.Multivalue |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.SIMD128 |
  binaryen.Features.TailCall;

/** WAT text → binary, with binaryen's text parser. */
export function wat(text: string, features: number = FIXTURE_FEATURES): Uint8Array {
  const module = binaryen.parseText(text);
  try {
    module.setFeatures(features);
    if (!module.validate()) throw new Error("fixture does not validate");
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

export type Exports = Record<string, (...args: never[]) => unknown>;

/** Instantiates a core module synchronously and returns its exports. */
export function instantiate(bytes: Uint8Array, imports: WebAssembly.Imports = {}): WebAssembly.Exports {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), imports).exports;
}

/** An export as a callable function. */
export function fn<A extends unknown[], R>(exports: WebAssembly.Exports, name: string): (...args: A) => R {
  const f = exports[name];
  if (typeof f !== "function") throw new Error(`no exported function ${name}`);
  return f as (...args: A) => R;
}
