/**
 * Differential tests of the binary rewriter against the previous binaryen
 * engine (test/reference): the same module through both must compute the
 * same results, consume the same fuel and trap the same way.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PROGRAMS } from "../../test/fixtures/programs.js";
import { meterWithBinaryen } from "../../test/reference/binaryen-meter.js";
import { fn, instantiate, wat } from "../../test/wat.js";
import { FuelMeter, meterModule, MeteringError } from "../index.js";
import type { MeteringMeta } from "../meta.js";

interface Run {
  value?: unknown;
  error?: string;
  consumed: number;
}

function runner(bytes: Uint8Array, meta: MeteringMeta, budget = 1_000_000_000): (name: string, args: unknown[]) => Run {
  const meter = new FuelMeter({ budget });
  const exports = instantiate(bytes, meter.importsFor(meta));
  return (name, args) => {
    meter.reset();
    try {
      return { value: fn<unknown[], unknown>(exports, name)(...args), consumed: meter.consumed };
    } catch (e) {
      const kind = meter.exhausted?.kind;
      return { error: kind ?? (e as Error).constructor.name, consumed: meter.consumed };
    }
  };
}

function both(input: Uint8Array, budget?: number): { fresh: ReturnType<typeof runner>; reference: ReturnType<typeof runner>; meta: MeteringMeta; referenceMeta: MeteringMeta } {
  const a = meterModule(input);
  const b = meterWithBinaryen(input);
  expect(WebAssembly.validate(a.bytes as Uint8Array<ArrayBuffer>)).toBe(true);
  return { fresh: runner(a.bytes, a.meta, budget), reference: runner(b.bytes, b.meta, budget), meta: a.meta, referenceMeta: b.meta };
}

describe("binary rewriter vs binaryen engine", () => {
  /**
   * Documented differences (README "Cost model"): binaryen lowers block
   * parameters and multi-value results to scratch locals, and flattened
   * functions with table.copy/table.init into local sets and gets, and
   * charged those added instructions; the binary rewriter charges what is in
   * the binary, so these cost less. Everything else costs the same.
   */
  const CHEAPER = new Set(["multi-value (results, block params)", "table.copy and table.init (walked after binaryen's flatten)"]);
  for (const program of PROGRAMS) {
    it(`same results, same fuel, same stats: ${program.name}`, () => {
      const input = wat(program.wat);
      const { fresh, reference, meta, referenceMeta } = both(input);
      const cheaper = CHEAPER.has(program.name);
      if (cheaper) expect(meta.stats.staticCost).toBeLessThan(referenceMeta.stats.staticCost);
      else expect(meta.stats).toEqual(referenceMeta.stats);
      expect(meta.imports).toEqual(referenceMeta.imports);
      const plain = instantiate(input);
      for (const [name, args] of program.calls) {
        const a = fresh(name, args);
        const b = reference(name, args);
        if (cheaper) {
          expect(a.value).toEqual(b.value);
          expect(a.consumed).toBeLessThanOrEqual(b.consumed);
          expect(a.consumed).toBeGreaterThan(0);
        } else expect(a, `${name}(${args.join(", ")})`).toEqual(b);
        expect(a.value).toEqual(fn<unknown[], unknown>(plain, name)(...args));
      }
    });
  }

  it("random structured programs (fast-check): same result, fuel and traps; small budgets trap at the same point", () => {
    fc.assert(
      fc.property(programArb, fc.integer({ min: -50, max: 50 }), fc.integer({ min: 1, max: 400 }), (body, arg, budget) => {
        const input = wat(moduleText(body));
        const plain = fn<[number], number>(instantiate(input, { env: { log: () => {} } }), "f")(arg);
        const a = meterModule(input);
        const b = meterWithBinaryen(input);
        expect(a.meta.stats).toEqual(b.meta.stats);
        for (const limit of [1_000_000_000, budget]) {
          const ra = runWith(a.bytes, a.meta, limit, arg);
          const rb = runWith(b.bytes, b.meta, limit, arg);
          expect(ra).toEqual(rb);
          if (limit === 1_000_000_000) expect(ra.value).toBe(plain);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("region boundaries match binaryen's around value blocks, targeted ifs and dead code", () => {
    const big = (n: number): string => Array.from({ length: n }, () => "(local.set $x (i32.add (local.get $x) (i32.const 3)))").join(" ");
    const bodies = [
      // a block with a value that a branch targets, consumed by the code after it: no tail
      `(local.set $x (i32.add (block $b (result i32) (drop (br_if $b (i32.const 1) (local.get $x))) (i32.const 2)) (i32.const 1))) ${big(3)}`,
      // an if that a branch targets, followed by code: a tail
      `(if $i (local.get $x) (then (br_if $i (local.get $x)) ${big(2)})) ${big(3)}`,
      // code after an unconditional branch
      `(block $b (br_if $b (local.get $x)) ${big(2)}) (block $c (br $c) ${big(3)}) ${big(3)}`,
      // a targeted block at the end of an if arm, and in a loop
      `(if (local.get $x) (then (block $b (br_if $b (local.get $x)) ${big(5)}) ${big(5)}))`,
      `(loop $l (block $b (br_if $b (local.get $x)) ${big(5)}) ${big(5)} (br_if $l (i32.const 0)))`,
    ];
    for (const body of bodies) {
      const input = wat(`(module (func (export "f") (param $x i32) (result i32) ${body} (local.get $x)))`);
      const { fresh, reference, meta, referenceMeta } = both(input);
      expect(meta.stats, body).toEqual(referenceMeta.stats);
      for (const arg of [0, 1, 7]) expect(fresh("f", [arg])).toEqual(reference("f", [arg]));
    }
  });

  it("renumbers every index: imports, globals, element segments (active, passive, declared, expressions), start, data offsets, exports", () => {
    const input = wat(`(module
      (import "env" "ext" (func $ext (param i32) (result i32)))
      (import "env" "base" (global $base i32))
      (memory 1)
      (table $t 4 funcref)
      (global $g (mut i32) (global.get $base))
      (global $fr funcref (ref.func $two))
      (elem (i32.const 0) $one $two)
      (elem $p func $three)
      (elem $e funcref (ref.func $one) (ref.null func))
      (elem declare func $four)
      (data (global.get $base) "\\2a")
      (func $one (result i32) (i32.const 1))
      (func $two (result i32) (i32.const 2))
      (func $three (result i32) (i32.const 3))
      (func $four (result i32) (i32.const 4))
      (func $start (global.set $g (i32.add (global.get $g) (i32.const 100))))
      (start $start)
      (func (export "run") (param i32) (result i32)
        (table.init $t $p (i32.const 2) (i32.const 0) (i32.const 1))
        (table.set $t (i32.const 3) (global.get $fr))
        (i32.add
          (i32.add (call_indirect (result i32) (local.get 0)) (call $ext (global.get $g)))
          (i32.add (i32.load8_u (global.get $base)) (call $call_ref_like))))
      (func $call_ref_like (result i32) (drop (ref.func $four)) (i32.const 1000))
      (export "g" (global $g)))`);
    const imports = (meter: FuelMeter): WebAssembly.Imports => ({
      env: { ext: (x: number) => x * 2, base: 8 },
      ...meter.imports,
    });
    const plain = new WebAssembly.Instance(new WebAssembly.Module(input as Uint8Array<ArrayBuffer>), { env: { ext: (x: number) => x * 2, base: 8 } }).exports;
    const { bytes } = meterModule(input);
    const meter = new FuelMeter();
    const metered = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), imports(meter)).exports;
    for (const i of [0, 1, 2, 3]) expect(fn<[number], number>(metered, "run")(i)).toBe(fn<[number], number>(plain, "run")(i));
    expect((metered.g as WebAssembly.Global).value).toBe(108);
    expect(meter.consumed).toBeGreaterThan(0);
  });

  it("deeply nested code (100,000 blocks, loops and ifs) is metered without overflowing the JS stack", () => {
    const depth = 100_000;
    const body: number[] = [];
    for (let i = 0; i < depth; i++) body.push(...[[0x02, 0x40], [0x03, 0x40], [0x41, 0x01, 0x04, 0x40]][i % 3]!);
    body.push(0x41, 0x07, 0x1a); // i32.const 7; drop
    for (let i = 0; i < depth; i++) body.push(0x0b);
    body.push(0x0b);
    const input = moduleWithBody(body);
    const { bytes, meta } = meterModule(input);
    expect(meta.stats.loops).toBe(Math.ceil((depth - 1) / 3));
    const meter = new FuelMeter();
    fn<[], void>(instantiate(bytes, meter.importsFor(meta)), "f")();
    expect(meter.consumed).toBeGreaterThan(0);
  });

  it("refuses what it cannot meter with METERING_UNSUPPORTED and the reason: threads (atomic.fence)", () => {
    // (func (export "f") atomic.fence)
    const input = moduleWithBody([0xfe, 0x03, 0x00, 0x0b]);
    expect(WebAssembly.validate(input as Uint8Array<ArrayBuffer>)).toBe(true);
    let error: unknown;
    try {
      meterModule(input);
    } catch (e) {
      error = e;
    }
    expect(MeteringError.isInstance(error)).toBe(true);
    expect((error as MeteringError).code).toBe("METERING_UNSUPPORTED");
    expect((error as Error).message.startsWith("module uses a WebAssembly feature that cannot be metered (threads)")).toBe(true);
  });

  it("keeps custom sections that do not refer to code, drops those that do", () => {
    const custom = (name: string): number[] => {
      const n = [...new TextEncoder().encode(name)];
      const payload = [n.length, ...n, 1, 2, 3];
      return [0, payload.length, ...payload];
    };
    const input = Uint8Array.from([...moduleWithBody([0x0b]), ...custom("producers"), ...custom("sourceMappingURL")]);
    const out = new WebAssembly.Module(meterModule(input).bytes as Uint8Array<ArrayBuffer>);
    expect(WebAssembly.Module.customSections(out, "producers")).toHaveLength(1);
    expect(WebAssembly.Module.customSections(out, "sourceMappingURL")).toHaveLength(0);
  });
});

function runWith(bytes: Uint8Array, meta: MeteringMeta, budget: number, arg: number): Run {
  const meter = new FuelMeter({ budget });
  const exports = instantiate(bytes, { env: { log: () => {} }, ...meter.importsFor(meta) });
  try {
    return { value: fn<[number], number>(exports, "f")(arg), consumed: meter.consumed };
  } catch (e) {
    return { error: meter.exhausted?.kind ?? (e as Error).constructor.name, consumed: meter.consumed };
  }
}

/** A module with one exported function `f: [] -> []` whose body (after `0 locals`) is `code`. */
function moduleWithBody(code: number[]): Uint8Array {
  const uleb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n !== 0) b |= 0x80;
      out.push(b);
    } while (n !== 0);
    return out;
  };
  const body = [0, ...code];
  const codeSection = [1, ...uleb(body.length), ...body];
  return Uint8Array.from([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    1, 4, 1, 0x60, 0, 0, // type () -> ()
    3, 2, 1, 0, // one function
    5, 3, 1, 0, 1, // memory 1 (for atomic.fence's sake none needed, harmless)
    7, 5, 1, 1, 0x66, 0, 0, // export "f"
    10, ...uleb(codeSection.length), ...codeSection,
  ]);
}

/** Random statement trees over `$x`, with bounded loops, branches, switches, calls and grows. */
type Stmt =
  | { k: "add"; v: number }
  | { k: "mul"; v: number }
  | { k: "call" }
  | { k: "grow" }
  | { k: "ret"; v: number }
  | { k: "if"; m: number; t: Stmt[]; e: Stmt[] }
  | { k: "block"; v: number; a: Stmt[]; b: Stmt[] }
  | { k: "loop"; n: number; body: Stmt[] }
  | { k: "switch"; cases: Stmt[][] };

const { stmts: programArb } = fc.letrec<{ stmt: Stmt; stmts: Stmt[] }>((tie) => ({
  stmt: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ k: fc.constant("add" as const), v: fc.integer({ min: -9, max: 9 }) }),
    fc.record({ k: fc.constant("mul" as const), v: fc.integer({ min: 2, max: 5 }) }),
    fc.record({ k: fc.constant("call" as const) }),
    fc.record({ k: fc.constant("grow" as const) }),
    fc.record({ k: fc.constant("ret" as const), v: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ k: fc.constant("if" as const), m: fc.integer({ min: 1, max: 7 }), t: tie("stmts"), e: tie("stmts") }),
    fc.record({ k: fc.constant("block" as const), v: fc.integer({ min: 0, max: 40 }), a: tie("stmts"), b: tie("stmts") }),
    fc.record({ k: fc.constant("loop" as const), n: fc.integer({ min: 1, max: 4 }), body: tie("stmts") }),
    fc.record({ k: fc.constant("switch" as const), cases: fc.array(tie("stmts"), { minLength: 1, maxLength: 4 }) }),
  ),
  stmts: fc.array(tie("stmt"), { maxLength: 5 }),
}));

function moduleText(body: Stmt[]): string {
  let label = 0;
  const emit = (s: Stmt, loopDepth: number): string => {
    switch (s.k) {
      case "add":
        return `(local.set $x (i32.add (local.get $x) (i32.const ${s.v})))`;
      case "mul":
        return `(local.set $x (i32.mul (local.get $x) (i32.const ${s.v})))`;
      case "call":
        return `(local.set $x (call $g (local.get $x)))`;
      case "grow":
        return `(local.set $x (i32.add (local.get $x) (memory.grow (i32.const 0))))`;
      case "ret":
        return `(if (i32.eq (i32.and (local.get $x) (i32.const 7)) (i32.const ${s.v})) (then (return (local.get $x))))`;
      case "if":
        return `(if (i32.and (local.get $x) (i32.const ${s.m})) (then ${seq(s.t, loopDepth)}) (else ${seq(s.e, loopDepth)}))`;
      case "block": {
        const l = `$b${label++}`;
        return `(block ${l} ${seq(s.a, loopDepth)} (br_if ${l} (i32.gt_s (local.get $x) (i32.const ${s.v}))) ${seq(s.b, loopDepth)}) (local.set $x (i32.add (local.get $x) (i32.const 1)))`;
      }
      case "loop": {
        if (loopDepth >= 3) return seq(s.body, loopDepth);
        const l = `$l${label++}`;
        const c = `$c${loopDepth}`;
        return `(local.set ${c} (i32.const ${s.n})) (loop ${l} ${seq(s.body, loopDepth + 1)} (br_if ${l} (local.tee ${c} (i32.sub (local.get ${c}) (i32.const 1)))))`;
      }
      case "switch": {
        const labels = s.cases.map(() => `$s${label++}`);
        let text = `(br_table ${labels.join(" ")} (i32.and (local.get $x) (i32.const 3)))`;
        s.cases.forEach((c, i) => {
          text = `(block ${labels[i]} ${text}) ${seq(c, loopDepth)}`;
        });
        return text;
      }
    }
  };
  const seq = (ss: Stmt[], loopDepth: number): string => ss.map((s) => emit(s, loopDepth)).join(" ");
  return `(module
    (import "env" "log" (func $log (param i32)))
    (memory 1)
    (func $g (param i32) (result i32) (i32.xor (local.get 0) (i32.const 5)))
    (func (export "f") (param $a i32) (result i32) (local $x i32) (local $c0 i32) (local $c1 i32) (local $c2 i32)
      (local.set $x (local.get $a))
      ${seq(body, 0)}
      (local.get $x)))`;
}
