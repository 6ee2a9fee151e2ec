/**
 * Reads the structure the rewriter needs from a core module: types (their
 * parameter counts), how many functions and globals are imported, the type
 * of each defined function and where each function body lies. Only called
 * on input that `WebAssembly.validate` accepted; what the rewriter cannot
 * meter throws {@link UnsupportedFeatureError}.
 */
import { BinaryFormatError, Reader, sections, type Section } from "../binary.js";
import { isSupportedValType, UnsupportedFeatureError, valTypeReason } from "./opcodes.js";

export const SECTION = {
  CUSTOM: 0,
  TYPE: 1,
  IMPORT: 2,
  FUNCTION: 3,
  TABLE: 4,
  MEMORY: 5,
  GLOBAL: 6,
  EXPORT: 7,
  START: 8,
  ELEMENT: 9,
  CODE: 10,
  DATA: 11,
  DATA_COUNT: 12,
  TAG: 13,
} as const;

export interface ModuleInfo {
  bytes: Uint8Array;
  sections: Section[];
  /** Parameter count of each type. */
  typeParams: number[];
  importedFunctions: number;
  importedGlobals: number;
  /** Type index of each defined function. */
  functionTypes: number[];
  /** Per defined function: offset of its local declarations and end of its body. */
  bodyStarts: number[];
  bodyEnds: number[];
}

function readValType(r: Reader): void {
  const b = r.byte();
  if (!isSupportedValType(b)) throw new UnsupportedFeatureError(valTypeReason(b));
}

/** Reads what the rewriter needs; refuses exception handling (tags), GC types and typed references. */
export function readModule(bytes: Uint8Array): ModuleInfo {
  const info: ModuleInfo = {
    bytes,
    sections: sections(bytes),
    typeParams: [],
    importedFunctions: 0,
    importedGlobals: 0,
    functionTypes: [],
    bodyStarts: [],
    bodyEnds: [],
  };
  for (const s of info.sections) {
    const r = new Reader(bytes, s.start, s.end);
    switch (s.id) {
      case SECTION.TAG:
        throw new UnsupportedFeatureError("exception handling");
      case SECTION.TYPE: {
        const count = r.u32();
        for (let i = 0; i < count; i++) {
          const form = r.byte();
          if (form !== 0x60) throw new UnsupportedFeatureError(`GC type definitions (form 0x${form.toString(16)})`);
          const params = r.u32();
          for (let p = 0; p < params; p++) readValType(r);
          const results = r.u32();
          for (let p = 0; p < results; p++) readValType(r);
          info.typeParams.push(params);
        }
        break;
      }
      case SECTION.IMPORT: {
        const count = r.u32();
        for (let i = 0; i < count; i++) {
          r.skip(r.u32());
          r.skip(r.u32());
          const kind = r.byte();
          if (kind === 0x00) {
            r.u32();
            info.importedFunctions++;
          } else if (kind === 0x01) {
            readValType(r);
            limits(r);
          } else if (kind === 0x02) {
            limits(r);
          } else if (kind === 0x03) {
            readValType(r);
            r.byte();
            info.importedGlobals++;
          } else if (kind === 0x04) {
            throw new UnsupportedFeatureError("exception handling");
          } else throw new BinaryFormatError(`unknown import kind 0x${kind.toString(16)}`);
        }
        break;
      }
      case SECTION.TABLE: {
        const count = r.u32();
        for (let i = 0; i < count; i++) {
          readValType(r);
          limits(r);
        }
        break;
      }
      case SECTION.MEMORY: {
        const count = r.u32();
        for (let i = 0; i < count; i++) limits(r);
        break;
      }
      case SECTION.FUNCTION: {
        const count = r.u32();
        for (let i = 0; i < count; i++) info.functionTypes.push(r.u32());
        break;
      }
      case SECTION.CODE: {
        const count = r.u32();
        for (let i = 0; i < count; i++) {
          const size = r.u32();
          info.bodyStarts.push(r.pos);
          r.skip(size);
          info.bodyEnds.push(r.pos);
        }
        break;
      }
      default:
        break;
    }
  }
  if (info.bodyStarts.length !== info.functionTypes.length) throw new BinaryFormatError("function and code sections differ in length");
  return info;
}

function limits(r: Reader): void {
  const flags = r.byte();
  if (flags > 3) throw new UnsupportedFeatureError("memory64");
  r.u32();
  if (flags & 1) r.u32();
}

/** The name of a custom section. */
export function customSectionName(bytes: Uint8Array, s: Section): string {
  try {
    return new Reader(bytes, s.start, s.end).name();
  } catch {
    return "";
  }
}
