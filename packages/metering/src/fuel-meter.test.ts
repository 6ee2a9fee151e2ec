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
    expect(Object.keys(meter.imports[METERING_IMPORT_MODULE])).toEqual(["fuel", "out_of_fuel", "memory_grow_failed", "table_grow_failed"]);
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
