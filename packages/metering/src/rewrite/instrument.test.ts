/**
 * The decoder's refusals, on hand-built bodies given to the rewriter
 * directly: Node 20's V8 does not validate most of these features, so
 * meterModule would already refuse them as METERING_INVALID; a newer V8
 * would let them through to the decoder, which must refuse them itself.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteWriter, Reader } from "../binary.js";
import { instrumentBinary } from "./instrument.js";
import { UnsupportedFeatureError } from "./opcodes.js";

const PLAN = { fuel: true, importModule: "clawft:metering", memoryMaxPages: 16, tableMaxElements: [10] };

function uleb(n: number): number[] {
  const w = new ByteWriter(8);
  w.u32(n);
  return [...w.result()];
}

/** A module with a memory, a table and one function `[] -> []` whose code (after `0 locals`) is `code`. */
function moduleWithBody(code: number[]): Uint8Array {
  const body = [0, ...code];
  const codeSection = [1, ...uleb(body.length), ...body];
  return Uint8Array.from([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    1, 4, 1, 0x60, 0, 0,
    3, 2, 1, 0,
    4, 4, 1, 0x70, 0, 1,
    5, 3, 1, 0, 1,
    10, ...uleb(codeSection.length), ...codeSection,
  ]);
}

function reason(code: number[]): string {
  try {
    instrumentBinary(moduleWithBody(code), PLAN);
  } catch (e) {
    expect(e).toBeInstanceOf(UnsupportedFeatureError);
    return (e as UnsupportedFeatureError).reason;
  }
  throw new Error("expected a refusal");
}

describe("the decoder refuses what it cannot meter", () => {
  it.each([
    ["exception handling: try", [0x06, 0x40, 0x0b, 0x0b], "exception handling"],
    ["exception handling: throw", [0x08, 0x00, 0x0b], "exception handling"],
    ["exception handling: try_table", [0x1f, 0x40, 0x00, 0x0b, 0x0b], "exception handling"],
    ["exception handling: delegate", [0x18, 0x00, 0x0b], "exception handling"],
    ["GC prefix", [0xfb, 0x00, 0x0b], "GC"],
    ["threads prefix", [0xfe, 0x03, 0x00, 0x0b], "threads"],
    ["relaxed SIMD (0xFD 0x100)", [0x41, 0x00, 0xfd, 0x80, 0x02, 0x1a, 0x0b], "relaxed SIMD"],
    ["multi-memory: memarg with a memory index", [0x41, 0x00, 0x28, 0x42, 0x01, 0x00, 0x1a, 0x0b], "multi-memory"],
    ["multi-memory: memory.grow of memory 1", [0x41, 0x00, 0x40, 0x01, 0x1a, 0x0b], "multi-memory"],
    ["multi-memory: memory.copy between memories", [0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0a, 0x00, 0x01, 0x0b], "multi-memory"],
    ["typed function references: call_ref", [0x14, 0x00, 0x0b], "typed function references"],
    ["typed function references: ref.null of a concrete type", [0xd0, 0x00, 0x1a, 0x0b], "typed function references"],
    ["an opcode the decoder does not know", [0xc5, 0x0b], "unknown instruction 0xc5"],
    ["a 0xFC instruction the decoder does not know", [0xfc, 0x13, 0x0b], "instruction 0xfc 19"],
  ])("%s", (_name, code, expected) => {
    expect(reason(code)).toBe(expected);
  });

  it("a memory64 limit is refused", () => {
    const m = moduleWithBody([0x0b]);
    const at = m.indexOf(5, 18); // memory section id
    m[at + 3] = 0x04; // limits flags: 64-bit
    expect(() => instrumentBinary(m, PLAN)).toThrow(UnsupportedFeatureError);
  });

  it("a supported body goes through: charges at entry, the module validates", () => {
    const { bytes, stats, imports } = instrumentBinary(moduleWithBody([0x41, 0x01, 0x1a, 0x0b]), PLAN);
    expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(true);
    expect(stats).toMatchObject({ functions: 1, leafFunctions: 1, staticCost: 1 });
    expect(imports).toEqual(["fuel", "out_of_fuel"]);
  });
});

describe("LEB128 (ByteWriter and Reader)", () => {
  it("u32 round-trips, minimal encoding", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (n) => {
        const w = new ByteWriter(1);
        w.u32(n);
        const bytes = w.result();
        const r = new Reader(bytes);
        expect(r.u32()).toBe(n);
        expect(r.pos).toBe(bytes.length);
        expect(bytes.length).toBe(Math.max(1, Math.ceil(Math.log2(n + 1) / 7)));
      }),
    );
  });

  it("sleb encodes safe integers as WebAssembly reads them (i64.const through a real module)", () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        const w = new ByteWriter(1);
        w.sleb(n);
        const imm = [...w.result()];
        // (func (export "f") (result i64) i64.const n)
        const body = [0, 0x42, ...imm, 0x0b];
        const code = [1, body.length, ...body];
        const m = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7e, 3, 2, 1, 0, 7, 5, 1, 1, 0x66, 0, 0, 10, code.length, ...code]);
        const f = new WebAssembly.Instance(new WebAssembly.Module(m)).exports.f as () => bigint;
        expect(f()).toBe(BigInt(n));
      }),
      { numRuns: 300 },
    );
  });

  it("beginSized/endSized writes a minimal size prefix whatever the content length", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40_000 }), (n) => {
        const w = new ByteWriter(4);
        w.byte(0xaa);
        const start = w.beginSized();
        for (let i = 0; i < n; i++) w.byte(i & 0xff);
        w.endSized(start);
        const out = w.result();
        const r = new Reader(out, 1);
        expect(r.u32()).toBe(n);
        expect(out.length - r.pos).toBe(n);
        if (n > 0) expect(out[r.pos + n - 1]).toBe((n - 1) & 0xff);
      }),
      { numRuns: 50 },
    );
  });
});
