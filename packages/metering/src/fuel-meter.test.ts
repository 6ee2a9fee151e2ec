import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { ClawftError } from "@clawft/sandbox-policy";
import { describe, expect, it } from "vitest";
import { fn, instantiate, wat } from "../test/wat.js";
import {
  FuelMeter,
  METERING_CHANNEL,
  METERING_IMPORT_MODULE,
  MeteringError,
  meterModule,
  ResourceExhaustedError,
  type MeteringExhaustedEvent,
  type MeteringMeta,
} from "./index.js";

const LOOP = wat(`(module (func (export "run") (param $n i32)
  (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))`);

describe("FuelMeter", () => {
  it("starts with the default budget of 1e9 and reports consumed / remaining", () => {
    const meter = new FuelMeter();
    expect(meter.budget).toBe(1_000_000_000);
    expect(meter.remaining).toBe(1_000_000_000);
    expect(meter.consumed).toBe(0);
    const { bytes, meta } = meterModule(LOOP);
    fn<[number], void>(instantiate(bytes, meter.importsFor(meta)), "run")(100);
    expect(meter.consumed).toBeGreaterThan(100);
    expect(meter.consumed + meter.remaining).toBe(1_000_000_000);
  });

  it("accepts budgets up to 1e10 (i64) and refuses bad budgets naming the field", () => {
    const meter = new FuelMeter({ budget: 10_000_000_000 });
    expect(meter.remaining).toBe(10_000_000_000);
    expect(meter.fuel.value).toBe(10_000_000_000n);
    for (const bad of [0, -1, 1.5, Number.NaN, 10_000_000_001, "1" as unknown as number]) {
      expect(() => new FuelMeter({ budget: bad })).toThrow(/^budget must be/);
      expect(() => meter.setBudget(bad)).toThrow(MeteringError);
    }
    expect(() => new FuelMeter({ onExhausted: 1 as unknown as () => void })).toThrow("onExhausted must be a function");
  });

  it("setBudget starts a new call with the new budget", () => {
    const meter = new FuelMeter({ budget: 50 });
    const { bytes, meta } = meterModule(LOOP);
    const run = fn<[number], void>(instantiate(bytes, meter.importsFor(meta)), "run");
    expect(() => run(1000)).toThrow(/^resource exhausted: fuel/);
    expect(meter.exhausted?.kind).toBe("fuel");
    meter.setBudget(1_000_000);
    expect(meter.exhausted).toBeUndefined();
    expect(meter.remaining).toBe(1_000_000);
    run(1000);
    expect(meter.exhausted).toBeUndefined();
  });

  it("one meter is shared by several core modules of an instance: one budget for all of them", () => {
    const meter = new FuelMeter({ budget: 1_000_000 });
    const a = meterModule(LOOP);
    const b = meterModule(wat(`(module (import "a" "run" (func $run (param i32)))
      (func (export "twice") (param i32) (call $run (local.get 0)) (call $run (local.get 0))))`));
    const runA = instantiate(a.bytes, meter.importsFor(a.meta)).run as WebAssembly.ExportValue;
    const twice = fn<[number], void>(instantiate(b.bytes, { ...meter.importsFor(b.meta), a: { run: runA } }), "twice");
    meter.reset();
    (runA as (n: number) => void)(1000);
    const one = meter.consumed;
    meter.reset();
    twice(1000);
    expect(meter.consumed).toBeGreaterThan(2 * one);
  });

  it("an exhaustion is published on diagnostics_channel and given to onExhausted", () => {
    const events: unknown[] = [];
    const seen: ResourceExhaustedError[] = [];
    const listener = (message: unknown): void => {
      events.push(message);
    };
    subscribe(METERING_CHANNEL, listener);
    try {
      const meter = new FuelMeter({ budget: 10, onExhausted: (e) => seen.push(e) });
      const { bytes, meta } = meterModule(LOOP);
      expect(() => fn<[number], void>(instantiate(bytes, meter.importsFor(meta)), "run")(100)).toThrow();
      expect(events).toEqual([{ type: "resource-exhausted", kind: "fuel", limit: 10, used: meter.consumed } satisfies MeteringExhaustedEvent]);
      expect(seen).toEqual([meter.exhausted]);
    } finally {
      unsubscribe(METERING_CHANNEL, listener);
    }
  });

  it("recordTimeout records kind timeout in milliseconds", () => {
    const meter = new FuelMeter();
    const e = meter.recordTimeout(30_000, 30_004);
    expect(e).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "timeout", limit: 30_000, used: 30_004 });
    expect(meter.exhausted).toBe(e);
    expect(e.message.startsWith("resource exhausted: timeout")).toBe(true);
  });

  it("importsFor gives exactly the imports the module declares, and refuses meta of another version", () => {
    const meter = new FuelMeter();
    const { meta } = meterModule(LOOP);
    const imports = meter.importsFor(meta);
    expect(Object.keys(imports)).toEqual([METERING_IMPORT_MODULE]);
    expect(Object.keys(imports[METERING_IMPORT_MODULE] ?? {})).toEqual(["fuel", "out_of_fuel"]);
    expect(() => meter.importsFor({ ...meta, version: 999 })).toThrow(MeteringError);
    expect(() => meter.importsFor({ ...meta, imports: ["evil"] } as MeteringMeta)).toThrow(/unknown runtime import/);
    expect(Object.keys(meter.imports[METERING_IMPORT_MODULE])).toEqual(["fuel", "out_of_fuel", "memory_grow", "table_grow"]);
  });

  it("two meters share nothing", () => {
    const a = new FuelMeter({ budget: 100 });
    const b = new FuelMeter({ budget: 100 });
    const { bytes, meta } = meterModule(LOOP);
    expect(() => fn<[number], void>(instantiate(bytes, a.importsFor(meta)), "run")(1000)).toThrow();
    expect(a.exhausted).toBeDefined();
    expect(b.exhausted).toBeUndefined();
    expect(b.remaining).toBe(100);
  });
});

describe("ResourceExhaustedError", () => {
  it("is a ClawftError with its own brand, recognised across copies of the package", () => {
    const e = new ResourceExhaustedError("memory", 10, 20);
    expect(e).toBeInstanceOf(ClawftError);
    expect(ClawftError.isInstance(e)).toBe(true);
    expect(ResourceExhaustedError.isInstance(e)).toBe(true);
    expect(MeteringError.isInstance(e)).toBe(false);
    expect(ResourceExhaustedError.isInstance(new MeteringError("METERING_INVALID", "x"))).toBe(false);
    // What another installed copy would create: a different class, the same Symbol.for brand.
    const foreign = Object.assign(new Error("resource exhausted: fuel"), {
      [Symbol.for("clawft.error.ResourceExhaustedError")]: true,
    });
    expect(ResourceExhaustedError.isInstance(foreign)).toBe(true);
    expect(e.toJSON()).toEqual({
      name: "ResourceExhaustedError",
      code: "RESOURCE_EXHAUSTED",
      message: "resource exhausted: memory (used 20 of 10 bytes)",
      kind: "memory",
      limit: 10,
      used: 20,
    });
  });
});

describe("T46 one resource limiter per instance: memory and tables summed over every core module instance", () => {
  const PAGE = 65_536;
  const OWN_MEMORY = wat(`(module (memory (export "memory") 2)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "fill") (param i32) (result i32)
      (local $r i32)
      (loop $l
        (local.set $r (memory.grow (local.get 0)))
        (br_if $l (i32.ne (local.get $r) (i32.const -1))))
      (unreachable)))`);
  const IMPORTED_MEMORY = wat(`(module (import "env" "memory" (memory 1))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`);
  const OWN_TABLE = wat(`(module (table $t 10 funcref)
    (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0))))`);

  function instances(bytes: Uint8Array, meter: FuelMeter, n: number, options = {}): WebAssembly.Exports[] {
    const { bytes: metered, meta } = meterModule(bytes, options);
    const module = new WebAssembly.Module(metered as Uint8Array<ArrayBuffer>);
    return Array.from({ length: n }, () => {
      meter.admit(meta);
      return new WebAssembly.Instance(module, meter.importsFor(meta)).exports;
    });
  }

  it("T46 a grow that would take the sum of two memories over the budget returns -1 and records kind memory; the guest that handles it keeps running", () => {
    const meter = new FuelMeter({ maxMemoryBytes: 10 * PAGE });
    const [a, b] = instances(OWN_MEMORY, meter, 2) as [WebAssembly.Exports, WebAssembly.Exports];
    // Each memory alone is far under the module's cap (16 MiB): only the sum is over.
    expect(meter.memoryBytes).toBe(4 * PAGE);
    expect(fn<[number], number>(a, "grow")(3)).toBe(2);
    expect(fn<[number], number>(b, "grow")(3)).toBe(2);
    expect(meter.memoryBytes).toBe(10 * PAGE);
    expect(meter.exhausted).toBeUndefined();
    expect(fn<[number], number>(b, "grow")(1)).toBe(-1);
    expect(meter.exhausted).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "memory", limit: 10 * PAGE, used: 11 * PAGE });
    expect(meter.exhausted?.message).toMatch(/^resource exhausted: memory \(used 720896 of 655360 bytes, summed over every memory/);
    expect((b.memory as WebAssembly.Memory).buffer.byteLength).toBe(5 * PAGE);
    // Refused grows are not counted; a grow of 0 and the other instance still work.
    expect(meter.memoryBytes).toBe(10 * PAGE);
    expect(fn<[number], number>(a, "grow")(0)).toBe(5);
  });

  it("T46 many instances that each grow until refused hold the budget once in total, not once each", () => {
    const meter = new FuelMeter({ maxMemoryBytes: 16 * PAGE });
    const all = instances(OWN_MEMORY, meter, 6);
    let trapped = 0;
    for (const e of all) {
      try {
        fn<[number], number>(e, "fill")(1);
      } catch {
        trapped++;
        expect(meter.exhausted?.kind).toBe("memory");
      }
    }
    expect(trapped).toBe(6);
    const total = all.reduce((sum, e) => sum + (e.memory as WebAssembly.Memory).buffer.byteLength, 0);
    expect(total).toBe(16 * PAGE);
    expect(meter.memoryBytes).toBe(total);
  });

  it("T46 admit refuses an instance whose initial memory would take the sum over the budget, before anything is allocated", () => {
    const meter = new FuelMeter({ maxMemoryBytes: 5 * PAGE });
    instances(OWN_MEMORY, meter, 2);
    expect(meter.memoryBytes).toBe(4 * PAGE);
    const { meta } = meterModule(OWN_MEMORY);
    let error: unknown;
    try {
      meter.admit(meta);
    } catch (e) {
      error = e;
    }
    expect(ResourceExhaustedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "memory", limit: 5 * PAGE, used: 6 * PAGE });
    expect(meter.exhausted?.kind).toBe("memory");
    // Nothing was counted for the refused instance.
    expect(meter.memoryBytes).toBe(4 * PAGE);
  });

  it("T46 an imported memory is counted once, where it is defined; its grows through the importer count", () => {
    const meter = new FuelMeter({ maxMemoryBytes: 4 * PAGE });
    const [owner] = instances(OWN_MEMORY, meter, 1) as [WebAssembly.Exports];
    const { bytes, meta } = meterModule(IMPORTED_MEMORY);
    meter.admit(meta);
    expect(meter.memoryBytes).toBe(2 * PAGE);
    const importer = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {
      env: { memory: owner.memory as WebAssembly.Memory },
      ...meter.importsFor(meta),
    }).exports;
    expect(fn<[number], number>(importer, "grow")(2)).toBe(2);
    expect(meter.memoryBytes).toBe(4 * PAGE);
    expect(fn<[number], number>(owner, "grow")(1)).toBe(-1);
    expect(meter.exhausted).toMatchObject({ kind: "memory", limit: 4 * PAGE, used: 5 * PAGE });
  });

  it("T46 tables are summed the same way: the grow over maxTableElements returns -1, an instance whose initial table is over is refused", () => {
    const meter = new FuelMeter({ maxTableElements: 45 });
    const [a, b] = instances(OWN_TABLE, meter, 2) as [WebAssembly.Exports, WebAssembly.Exports];
    expect(meter.tableElements).toBe(20);
    expect(fn<[number], number>(a, "grow")(15)).toBe(10);
    expect(fn<[number], number>(b, "grow")(11)).toBe(-1);
    expect(meter.exhausted).toMatchObject({ kind: "table", limit: 45, used: 46 });
    expect(fn<[number], number>(b, "grow")(10)).toBe(10);
    expect(meter.tableElements).toBe(45);
    expect(() => meter.admit(meterModule(OWN_TABLE).meta)).toThrow(/^resource exhausted: table \(used 55 of 45 table elements, summed/);
  });

  it("T46 the budgets default to 16 MiB and 10,000 elements and bad values are refused naming the field", () => {
    const meter = new FuelMeter();
    expect(meter.maxMemoryBytes).toBe(16 * 1024 * 1024);
    expect(meter.maxTableElements).toBe(10_000);
    expect(new FuelMeter({ maxMemoryBytes: 3 * PAGE + 5 }).maxMemoryBytes).toBe(3 * PAGE);
    for (const bad of [0, -1, 1.5, 256 * 1024 * 1024 + 1, "1" as unknown as number]) {
      expect(() => new FuelMeter({ maxMemoryBytes: bad })).toThrow(/^maxMemoryBytes must be/);
      expect(() => new FuelMeter({ maxTableElements: bad })).toThrow(/^maxTableElements must be/);
    }
    expect(() => new FuelMeter({ maxMemoryBytes: 100 })).toThrow("maxMemoryBytes must be at least 65536 (one page)");
  });
});
