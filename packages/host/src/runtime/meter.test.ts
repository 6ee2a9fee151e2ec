import { parse } from "@bytecodealliance/jco";
import { meterModule, ResourceExhaustedError } from "@clawft/metering";
import { beforeAll, describe, expect, it } from "vitest";
import { createWorkerMeter, InstanceLimitError, type InstanceLimits } from "./meter.js";

const PAGE = 65_536;
const LIMITS: InstanceLimits = { maxMemoryBytes: 8 * PAGE, maxTableElements: 100, maxCoreInstances: 4, maxMemories: 3, maxTables: 2 };

/** A metered module as the worker gets it: compiled, with its metering data under a file name. */
async function metered(wat: string): Promise<{ module: WebAssembly.Module; meta: unknown }> {
  const { bytes, meta } = meterModule(await parse(wat), { maxMemoryBytes: 16 * 1024 * 1024 });
  return { module: new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), meta };
}

let withMemory: { module: WebAssembly.Module; meta: unknown };
let withTable: { module: WebAssembly.Module; meta: unknown };
let importsMemory: { module: WebAssembly.Module; meta: unknown };

beforeAll(async () => {
  withMemory = await metered(
    `(module (memory (export "memory") 2) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`
  );
  withTable = await metered(`(module (table 10 funcref))`);
  importsMemory = await metered(
    `(module (import "env" "memory" (memory 1)) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`
  );
});

function meterFor(limits: InstanceLimits = LIMITS) {
  const names = new Map<WebAssembly.Module, string>([
    [withMemory.module, "a.wasm"],
    [withTable.module, "b.wasm"],
    [importsMemory.module, "c.wasm"],
  ]);
  const meter = createWorkerMeter({ "a.wasm": withMemory.meta, "b.wasm": withTable.meta, "c.wasm": importsMemory.meta }, names, limits);
  meter.setBudget(1_000_000);
  const instantiate = (module: WebAssembly.Module, imports: WebAssembly.Imports = {}): WebAssembly.Exports =>
    new WebAssembly.Instance(module, meter.withImports(module, imports)).exports;
  return { meter, instantiate };
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("worker meter: one limiter per guest instance", () => {
  it("T46 memory is summed over every core instance: a grow that takes the sum over maxMemoryBytes returns -1 and is reported as kind memory", () => {
    const { meter, instantiate } = meterFor();
    const a = instantiate(withMemory.module);
    const b = instantiate(withMemory.module);
    expect(meter.memoryBytes()).toBe(4 * PAGE);
    const grow = (e: WebAssembly.Exports, n: number) => (e.grow as (n: number) => number)(n);
    expect(grow(a, 2)).toBe(2);
    expect(grow(b, 2)).toBe(2);
    expect(meter.memoryBytes()).toBe(8 * PAGE);
    expect(grow(a, 1)).toBe(-1);
    expect(meter.exhausted(new WebAssembly.RuntimeError("unreachable"))).toMatchObject({ kind: "memory", limit: 8 * PAGE, used: 9 * PAGE });
    // Exported or not, every memory counts: the sum is what the host reports as peak memory.
    expect((a.memory as WebAssembly.Memory).buffer.byteLength + (b.memory as WebAssembly.Memory).buffer.byteLength).toBe(meter.memoryBytes());
  });

  it("T46 an instance whose initial memory would take the sum over the budget is refused before it is created", () => {
    const { meter, instantiate } = meterFor({ ...LIMITS, maxMemoryBytes: 5 * PAGE });
    instantiate(withMemory.module);
    instantiate(withMemory.module);
    const error = thrown(() => instantiate(withMemory.module));
    expect(ResourceExhaustedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: "memory", limit: 5 * PAGE, used: 6 * PAGE });
    expect(meter.memoryBytes()).toBe(4 * PAGE);
    expect(meter.counts).toEqual({ coreInstances: 2, memories: 2, tables: 0 });
  });

  it("T46 an imported memory is counted where it is defined, not again by the module that imports it", () => {
    const { meter, instantiate } = meterFor();
    const owner = instantiate(withMemory.module);
    const importer = instantiate(importsMemory.module, { env: { memory: owner.memory as WebAssembly.Memory } });
    expect(meter.counts).toEqual({ coreInstances: 2, memories: 1, tables: 0 });
    expect(meter.memoryBytes()).toBe(2 * PAGE);
    expect((importer.grow as (n: number) => number)(6)).toBe(2);
    expect((importer.grow as (n: number) => number)(1)).toBe(-1);
  });

  it("T47 the (N+1)th core instance is refused with PLUGIN_TOO_MANY_INSTANCES before it is created", () => {
    const { meter, instantiate } = meterFor({ ...LIMITS, maxCoreInstances: 2, maxMemories: 10 });
    instantiate(withMemory.module);
    instantiate(withTable.module);
    const error = thrown(() => instantiate(withTable.module));
    expect(error).toBeInstanceOf(InstanceLimitError);
    expect(error).toMatchObject({ code: "PLUGIN_TOO_MANY_INSTANCES", limit: 2, used: 3 });
    expect((error as Error).message).toMatch(/^too many core instances: /);
    expect(meter.counts.coreInstances).toBe(2);
  });

  it("T47 more memories than maxMemories, or tables than maxTables, are refused with their own codes", () => {
    const memories = meterFor({ ...LIMITS, maxMemories: 1, maxMemoryBytes: 100 * PAGE });
    memories.instantiate(withMemory.module);
    expect(thrown(() => memories.instantiate(withMemory.module))).toMatchObject({ code: "PLUGIN_TOO_MANY_MEMORIES", limit: 1, used: 2 });
    expect(memories.meter.memoryBytes()).toBe(2 * PAGE);
    const tables = meterFor({ ...LIMITS, maxTables: 2 });
    tables.instantiate(withTable.module);
    tables.instantiate(withTable.module);
    const error = thrown(() => tables.instantiate(withTable.module));
    expect(error).toMatchObject({ code: "PLUGIN_TOO_MANY_TABLES", limit: 2, used: 3 });
    expect((error as Error).message).toMatch(/^too many tables: /);
  });

  it("T46 tables are summed too: an instance whose initial table takes the sum over maxTableElements is refused (kind table)", () => {
    const { instantiate } = meterFor({ ...LIMITS, maxTableElements: 25, maxTables: 10 });
    instantiate(withTable.module);
    instantiate(withTable.module);
    expect(thrown(() => instantiate(withTable.module))).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "table", limit: 25, used: 30 });
  });

  it("refuses a module it has no metering data for", () => {
    const { meter } = meterFor();
    const other = new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    expect(() => meter.withImports(other, {})).toThrow("missing metering data for a core module");
    expect(meter.counts.coreInstances).toBe(0);
  });
});
