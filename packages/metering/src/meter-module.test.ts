import { ClawftError } from "@clawft/sandbox-policy";
import { describe, expect, it } from "vitest";
import binaryen from "binaryen";
import { fn, instantiate, wat } from "../test/wat.js";
import { FuelMeter, MeteringError, meterModule, METERING_IMPORT_MODULE, ResourceExhaustedError } from "./index.js";

const MiB = 1024 * 1024;
const PAGE = 65_536;

/** A loop that never ends; ~20 fuel units an iteration so a 1e9 budget runs out in well under a second. */
const SPIN = wat(`(module
  (func (export "spin") (local $x i32)
    (loop $l
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
      (br $l))))`);

/** Does `n` iterations of the same ~20-unit body and returns a checksum. */
const WORK = wat(`(module
  (func (export "work") (param $n i32) (result i32) (local $x i32)
    (local.set $x (i32.const 1))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $x)))`);

/** Grows memory one page at a time; when a grow fails, traps like an allocator that aborts (or returns -1 if asked to). */
const ALLOC = wat(`(module
  (memory (export "memory") 1)
  (func (export "allocUntilFailure") (param $trap i32) (result i32) (local $pages i32)
    (loop $l
      (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
        (then
          (if (local.get $trap) (then (unreachable)))
          (return (i32.const -1))))
      (local.set $pages (i32.add (local.get $pages) (i32.const 1)))
      (br $l))
    (unreachable))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "bytes") (result i32) (i32.mul (memory.size) (i32.const 65536))))`);

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

function meteredInstance(input: Uint8Array, meter: FuelMeter, options = {}): WebAssembly.Exports {
  const { bytes, meta } = meterModule(input, options);
  expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(true);
  return instantiate(bytes, meter.importsFor(meta));
}

describe("fuel", () => {
  it("T28 a guest that loops forever is stopped by fuel: resource-exhausted, kind fuel", () => {
    const meter = new FuelMeter();
    const spin = fn<[], void>(meteredInstance(SPIN, meter), "spin");
    const error = catchError(() => spin());
    expect(ResourceExhaustedError.isInstance(error)).toBe(true);
    const e = error as ResourceExhaustedError;
    expect(e.code).toBe("RESOURCE_EXHAUSTED");
    expect(e.kind).toBe("fuel");
    expect(e.message.startsWith("resource exhausted: fuel")).toBe(true);
    expect(e.limit).toBe(1_000_000_000);
    expect(e.used).toBeGreaterThan(1_000_000_000);
    expect(meter.exhausted).toBe(error);
    expect(meter.remaining).toBe(0);
  });

  it("T31 with max_fuel = 500000000 the guest is stopped at the lower budget", () => {
    const low = new FuelMeter({ budget: 500_000_000 });
    const high = new FuelMeter();
    const spinLow = fn<[], void>(meteredInstance(SPIN, low), "spin");
    const spinHigh = fn<[], void>(meteredInstance(SPIN, high), "spin");
    const e = catchError(() => spinLow()) as ResourceExhaustedError;
    expect(e.code).toBe("RESOURCE_EXHAUSTED");
    expect(e.kind).toBe("fuel");
    expect(e.limit).toBe(500_000_000);
    expect(e.message.startsWith("resource exhausted: fuel")).toBe(true);
    expect(catchError(() => spinHigh())).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "fuel" });
    // Stopped just past its own budget (overshoot at most one loop body), about half of what the default allows.
    expect(low.consumed).toBeGreaterThan(500_000_000);
    expect(low.consumed).toBeLessThan(500_000_100);
    expect(high.consumed).toBeGreaterThan(1_000_000_000);
    expect(low.consumed).toBeLessThan(high.consumed / 1.9);
  });

  it("T45 a call that uses 900M fuel does not eat into the next call: it gets the full budget again", () => {
    const meter = new FuelMeter({ budget: 1_000_000_000 });
    const work = fn<[number], number>(meteredInstance(WORK, meter), "work");
    const iterations = 45_000_000; // 20 units each: 900M
    meter.reset();
    const first = work(iterations);
    expect(meter.consumed).toBeGreaterThan(850_000_000);
    expect(meter.consumed).toBeLessThan(950_000_000);
    const used = meter.consumed;
    meter.reset();
    expect(meter.remaining).toBe(1_000_000_000);
    // Without the reset this second call would need 1.8e9 of a 1e9 budget.
    expect(work(iterations)).toBe(first);
    expect(meter.consumed).toBe(used);
    expect(meter.exhausted).toBeUndefined();
  });

  it("deep recursion is stopped: by fuel with a small budget, by V8's stack limit otherwise", () => {
    const rec = wat(`(module (func $r (export "r") (param i32) (result i32)
      (i32.add (i32.const 1) (call $r (i32.add (local.get 0) (i32.const 1))))))`);
    const small = new FuelMeter({ budget: 1000 });
    const e = catchError(() => fn<[number], number>(meteredInstance(rec, small), "r")(0));
    expect(e).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "fuel", limit: 1000 });
    const big = new FuelMeter();
    const overflow = catchError(() => fn<[number], number>(meteredInstance(rec, big), "r")(0));
    expect(overflow).toBeInstanceOf(RangeError);
    expect(big.exhausted).toBeUndefined();
  });

  it("every loop iteration and every call is charged (no free loop, no free recursion)", () => {
    const m = wat(`(module
      (func $empty)
      (func (export "calls") (param $n i32)
        (loop $l (call $empty) (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))`);
    const meter = new FuelMeter({ budget: 1_000_000 });
    const calls = fn<[number], void>(meteredInstance(m, meter), "calls");
    meter.reset();
    calls(10);
    const ten = meter.consumed;
    meter.reset();
    calls(1000);
    // Each iteration: the loop body (call, br_if, local.tee, sub, get, const) plus $empty's entry.
    expect(meter.consumed - ten).toBe(990 * 7);
  });

  it("a br_table switch is charged for the case that runs, not for every case", () => {
    const body = (k: number): string => Array.from({ length: 10 }, () => `(local.set $x (i32.add (local.get $x) (i32.const ${k})))`).join(" ");
    const m = wat(`(module (func (export "sw") (param i32) (result i32) (local $x i32)
      (block $exit (block $c2 (block $c1 (block $c0
        (br_table $c0 $c1 $c2 (local.get 0)))
        ${body(1)} (br $exit))
        ${body(2)} ${body(2)} (br $exit))
        ${body(3)} ${body(3)} ${body(3)})
      (local.get $x)))`);
    const meter = new FuelMeter();
    const sw = fn<[number], number>(meteredInstance(m, meter), "sw");
    const cost = (k: number): number => {
      meter.reset();
      sw(k);
      return meter.consumed;
    };
    const [c0, c1, c2] = [cost(0), cost(1), cost(2)];
    expect([sw(0), sw(1), sw(2)]).toEqual([10, 40, 90]);
    // Each case body is 40 units (10 x local.set, add, get, const) per copy.
    expect(c1 - c0).toBe(40);
    expect(c2 - c1).toBe(40 - 1);
    expect(c0).toBeLessThan(60);
  });

  it("a leaf function (no loop, no call) is charged without a check; the next check stops the guest", () => {
    const m = wat(`(module
      (func $leaf (export "leaf") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func (export "caller") (param i32) (result i32) (call $leaf (local.get 0))))`);
    const meter = new FuelMeter({ budget: 1 });
    const exports = meteredInstance(m, meter);
    expect(fn<[number], number>(exports, "leaf")(1)).toBe(2);
    expect(meter.consumed).toBe(3);
    expect(meter.remaining).toBe(0);
    meter.reset();
    expect(catchError(() => fn<[number], number>(exports, "caller")(1))).toMatchObject({ kind: "fuel", limit: 1 });
  });

  it("a loop without calls that carries the counter in a local still sees what callees consumed", () => {
    const m = wat(`(module
      (func $burn (export "burn") (param $n i32)
        (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
      (func (export "both") (param $n i32) (local $k i32)
        (loop $outer
          (call $burn (local.get $n))
          (local.set $k (i32.const 50))
          (loop $inner (br_if $inner (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
          (br_if $outer (i32.const 0)))
        (call $burn (local.get $n))
        (local.set $k (i32.const 50))
        (loop $after (br_if $after (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))`);
    const { bytes, meta } = meterModule(m);
    expect(meta.stats.localLoops).toBeGreaterThan(0);
    const meter = new FuelMeter({ budget: 10_000_000 });
    const exports = instantiate(bytes, meter.importsFor(meta));
    const cost = (name: string, n: number): number => {
      meter.reset();
      fn<[number], void>(exports, name)(n);
      return meter.consumed;
    };
    const burnSlope = cost("burn", 10_001) - cost("burn", 1);
    // "both" burns twice: a stale local in the loops after the calls would hand that fuel back.
    expect(cost("both", 10_001) - cost("both", 1)).toBe(2 * burnSlope);
    meter.setBudget(30_000);
    expect(catchError(() => fn<[number], void>(exports, "both")(10_000))).toMatchObject({ kind: "fuel" });
  });

  it("fuel: false leaves the counter out but keeps the caps", () => {
    const { bytes, meta } = meterModule(ALLOC, { fuel: false, maxMemoryBytes: 2 * PAGE });
    expect(meta.imports).toEqual(["memory_grow"]);
    expect(meta.memories).toEqual([{ imported: false, initial: 1, max: 2 }]);
    const meter = new FuelMeter();
    const grow = fn<[number], number>(instantiate(bytes, meter.importsFor(meta)), "grow");
    expect(grow(1)).toBe(1);
    expect(grow(1)).toBe(-1);
    expect(meter.exhausted).toMatchObject({ kind: "memory", limit: 2 * PAGE, used: 3 * PAGE });
  });
});

describe("memory", () => {
  it("T29 a guest that allocates past 16 MiB is stopped: resource-exhausted, kind memory", () => {
    const meter = new FuelMeter();
    const exports = meteredInstance(ALLOC, meter);
    const trap = catchError(() => fn<[number], number>(exports, "allocUntilFailure")(1));
    expect(trap).toBeInstanceOf(WebAssembly.RuntimeError);
    // The host reports what the meter recorded instead of the trap.
    const e = meter.exhausted;
    expect(ResourceExhaustedError.isInstance(e)).toBe(true);
    expect(e?.code).toBe("RESOURCE_EXHAUSTED");
    expect(e?.kind).toBe("memory");
    expect(e?.message.startsWith("resource exhausted: memory")).toBe(true);
    expect(e?.limit).toBe(16 * MiB);
    expect(e?.used).toBe(16 * MiB + PAGE);
    expect(fn<[], number>(exports, "bytes")()).toBe(16 * MiB);
  });

  it("T29 a guest that handles the failed grow (-1) and returns normally succeeds", () => {
    const meter = new FuelMeter();
    const exports = meteredInstance(ALLOC, meter);
    expect(fn<[number], number>(exports, "allocUntilFailure")(0)).toBe(-1);
    // The record is there, but a normal return means success: the host ignores it.
    expect(meter.exhausted?.kind).toBe("memory");
    meter.reset();
    expect(meter.exhausted).toBeUndefined();
  });

  it("T32 with max_memory_mb = 8 the guest is stopped at 8 MiB", () => {
    const meter = new FuelMeter();
    const exports = meteredInstance(ALLOC, meter, { maxMemoryBytes: 8 * MiB });
    const memory = exports.memory as WebAssembly.Memory;
    expect(catchError(() => fn<[number], number>(exports, "allocUntilFailure")(1))).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(meter.exhausted).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "memory", limit: 8 * MiB, used: 8 * MiB + PAGE });
    expect(meter.exhausted?.message.startsWith("resource exhausted: memory")).toBe(true);
    expect(memory.buffer.byteLength).toBe(8 * MiB);
    // The cap is in the binary: the host side cannot grow past it either.
    expect(() => memory.grow(1)).toThrow(RangeError);
  });

  it("a declared maximum below the cap is kept; a larger one or none is rewritten to the cap", () => {
    const own = meterModule(wat(`(module (memory 1 4))`)).meta;
    expect(own.memories).toEqual([{ imported: false, initial: 1, max: 4 }]);
    const big = meterModule(wat(`(module (memory 1 65536))`)).meta;
    expect(big.memories).toEqual([{ imported: false, initial: 1, max: 256 }]);
    const none = meterModule(wat(`(module (memory 2))`), { maxMemoryBytes: 3 * PAGE + 100 }).meta;
    expect(none.memories).toEqual([{ imported: false, initial: 2, max: 3 }]);
    expect(none.maxMemoryBytes).toBe(3 * PAGE);
  });

  it("a module whose initial memory is already above the cap is refused with kind memory", () => {
    const e = catchError(() => meterModule(wat(`(module (memory 300))`)));
    expect(e).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "memory", limit: 16 * MiB, used: 300 * PAGE });
    expect((e as Error).message.startsWith("resource exhausted: memory")).toBe(true);
  });

  it("an imported memory gets the cap as its declared maximum, so an uncapped memory cannot be linked", () => {
    const input = wat(`(module (import "env" "memory" (memory 1))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`);
    const { bytes, meta } = meterModule(input, { maxMemoryBytes: 4 * PAGE });
    expect(meta.memories).toEqual([{ imported: true, initial: 1, max: 4 }]);
    const meter = new FuelMeter();
    const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    const uncapped = new WebAssembly.Memory({ initial: 1 });
    expect(() => new WebAssembly.Instance(module, { env: { memory: uncapped }, ...meter.imports })).toThrow(WebAssembly.LinkError);
    const capped = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const exports = new WebAssembly.Instance(module, { env: { memory: capped }, ...meter.imports }).exports;
    expect(fn<[number], number>(exports, "grow")(3)).toBe(1);
    expect(fn<[number], number>(exports, "grow")(1)).toBe(-1);
    expect(meter.exhausted).toMatchObject({ kind: "memory", limit: 4 * PAGE, used: 5 * PAGE });
  });
});

describe("tables", () => {
  const TABLE = wat(`(module (table $t (export "table") 10 funcref)
    (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0))))`);

  it("table.grow past the cap returns -1 and records kind table", () => {
    const meter = new FuelMeter();
    const exports = meteredInstance(TABLE, meter, { maxTableElements: 100 });
    const grow = fn<[number], number>(exports, "grow");
    expect(grow(90)).toBe(10);
    expect(grow(1)).toBe(-1);
    expect(meter.exhausted).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "table", limit: 100, used: 101 });
    expect((exports.table as WebAssembly.Table).length).toBe(100);
  });

  it("the default cap is 10,000 elements and a table that starts above it is refused", () => {
    expect(meterModule(TABLE).meta.tables).toEqual([{ imported: false, initial: 10, max: 10_000 }]);
    const e = catchError(() => meterModule(wat(`(module (table 20000 funcref))`)));
    expect(e).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "table", limit: 10_000, used: 20_000 });
  });
});

describe("refusals", () => {
  it("bytes that are not WebAssembly are refused with METERING_INVALID", () => {
    for (const bad of [new Uint8Array([1, 2, 3]), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 2, 3]), new Uint8Array()]) {
      const e = catchError(() => meterModule(bad));
      expect(MeteringError.isInstance(e)).toBe(true);
      expect(ClawftError.isInstance(e)).toBe(true);
      expect((e as MeteringError).code).toBe("METERING_INVALID");
      expect((e as Error).message.startsWith("module is not valid WebAssembly")).toBe(true);
    }
  });

  it("a module that imports the reserved metering namespace is refused (it could refill its own fuel)", () => {
    const m = wat(`(module (import "${METERING_IMPORT_MODULE}" "fuel" (global $f (mut i64)))
      (func (export "refill") (global.set $f (i64.const 0x7fffffffffffffff))))`);
    const e = catchError(() => meterModule(m));
    expect(e).toMatchObject({ code: "METERING_UNSUPPORTED" });
    expect((e as Error).message).toContain("reserved");
  });

  it("metering twice is refused rather than double-counted", () => {
    const once = meterModule(WORK).bytes;
    expect(catchError(() => meterModule(once))).toMatchObject({ code: "METERING_UNSUPPORTED" });
  });

  it("exception handling is refused: a guest could catch the out-of-fuel trap", () => {
    const m = wat(
      `(module (tag $e) (func (export "f") (try (do (throw $e)) (catch_all))))`,
      binaryen.Features.MVP | binaryen.Features.ExceptionHandling,
    );
    const e = catchError(() => meterModule(m));
    expect(MeteringError.isInstance(e)).toBe(true);
    // Node 20's V8 validates legacy exception handling, so binaryen's validator is what refuses it.
    expect((e as MeteringError).code).toBe("METERING_UNSUPPORTED");
    // (The reason in parentheses comes from binaryen's stderr, which vitest intercepts before us.)
    expect((e as Error).message.startsWith("module uses a WebAssembly feature that cannot be metered")).toBe(true);
  });

  it("a shared memory (threads) is refused with METERING_UNSUPPORTED", () => {
    const m = wat(`(module (memory 1 2 shared))`, binaryen.Features.MVP | binaryen.Features.Atomics);
    expect(catchError(() => meterModule(m))).toMatchObject({ code: "METERING_UNSUPPORTED" });
  });

  it("several memories are refused", () => {
    const m = wat(`(module (memory $a 1) (memory $b 1))`, binaryen.Features.MVP | binaryen.Features.MultiMemory);
    const e = catchError(() => meterModule(m));
    expect(MeteringError.isInstance(e)).toBe(true);
    // Node 20's V8 does not validate multi-memory (INVALID); a newer one would (UNSUPPORTED).
    expect((e as MeteringError).code).toMatch(/^METERING_(UNSUPPORTED|INVALID)$/);
  });

  it("bad options are refused naming the field", () => {
    expect(catchError(() => meterModule(WORK, { maxMemoryBytes: 512 * MiB }))).toMatchObject({
      code: "METERING_INVALID_OPTIONS",
      message: `maxMemoryBytes must be at most ${256 * MiB}`,
    });
    expect(catchError(() => meterModule(WORK, { maxMemoryBytes: 100 }))).toMatchObject({ code: "METERING_INVALID_OPTIONS" });
    expect(catchError(() => meterModule(WORK, { maxTableElements: 0 }))).toMatchObject({
      message: "maxTableElements must be a positive integer",
    });
    expect(catchError(() => meterModule(WORK, { maxTableElements: 100_001 }))).toMatchObject({ code: "METERING_INVALID_OPTIONS" });
    expect(catchError(() => meterModule(WORK, { fuel: "yes" as unknown as boolean }))).toMatchObject({ message: "fuel must be a boolean" });
    expect(catchError(() => meterModule("wasm" as unknown as Uint8Array))).toMatchObject({ code: "METERING_INVALID_OPTIONS" });
  });
});
