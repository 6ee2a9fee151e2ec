import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createTempDir } from "@clawft/test-utils";
import { describe, expect, it } from "vitest";
import { fn, instantiate, wat } from "../test/wat.js";
import { FuelMeter, MeteringCache, meterModule } from "./index.js";

const INPUT = wat(`(module (memory 1) (func (export "f") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))`);

describe("MeteringCache", () => {
  it("instruments a module once and answers later calls from memory, each with its own copy", async () => {
    const cache = new MeteringCache();
    const first = await cache.meter(INPUT);
    const second = await cache.meter(INPUT);
    expect(cache.stats).toEqual({ hits: 1, diskHits: 0, misses: 1 });
    expect(second.bytes).toEqual(first.bytes);
    expect(second.bytes).not.toBe(first.bytes);
    expect(first.bytes).toEqual(meterModule(INPUT).bytes);
    expect(Object.isFrozen(second.meta)).toBe(true);
    second.bytes[0] = 0xff;
    expect((await cache.meter(INPUT)).bytes[0]).toBe(0);
  });

  it("keys on the options too", async () => {
    const cache = new MeteringCache();
    const a = await cache.meter(INPUT, { maxMemoryBytes: 2 * 65_536 });
    const b = await cache.meter(INPUT, { maxMemoryBytes: 4 * 65_536 });
    const c = await cache.meter(INPUT, { fuel: false });
    expect(cache.stats.misses).toBe(3);
    expect(a.meta.memories[0]?.max).toBe(2);
    expect(b.meta.memories[0]?.max).toBe(4);
    expect(c.meta.fuel).toBe(false);
    expect(MeteringCache.key(INPUT, {})).not.toBe(MeteringCache.key(INPUT, { fuel: false }));
  });

  it("concurrent requests for the same module instrument it once", async () => {
    const cache = new MeteringCache();
    await Promise.all([cache.meter(INPUT), cache.meter(INPUT), cache.meter(INPUT)]);
    expect(cache.stats.misses).toBe(1);
  });

  it("stores entries on disk atomically and reads them back in a new cache", async () => {
    const dir = await createTempDir();
    try {
      const first = await new MeteringCache({ directory: dir.path }).meter(INPUT);
      const files = await readdir(dir.path);
      expect(files).toEqual([`${MeteringCache.key(INPUT)}.bin`]);
      const cache = new MeteringCache({ directory: dir.path });
      const again = await cache.meter(INPUT);
      expect(cache.stats).toEqual({ hits: 0, diskHits: 1, misses: 0 });
      expect(again.bytes).toEqual(first.bytes);
      expect(again.meta).toEqual(first.meta);
      const meter = new FuelMeter();
      expect(fn<[number], number>(instantiate(again.bytes, meter.importsFor(again.meta)), "f")(5)).toBe(15);
    } finally {
      await dir.cleanup();
    }
  });

  it("a corrupted or truncated disk entry is never used: it is ignored and rewritten", async () => {
    const dir = await createTempDir();
    try {
      const good = await new MeteringCache({ directory: dir.path }).meter(INPUT);
      const file = join(dir.path, `${MeteringCache.key(INPUT)}.bin`);
      const data = await readFile(file);
      // Flip a byte of the module (keeps the length): the hash check must catch it.
      const flipped = Buffer.from(data);
      flipped[flipped.length - 3] = (flipped[flipped.length - 3] as number) ^ 0xff;
      for (const bad of [flipped, data.subarray(0, data.length - 10), Buffer.from("garbage"), Buffer.alloc(0)]) {
        await writeFile(file, bad);
        const cache = new MeteringCache({ directory: dir.path });
        const result = await cache.meter(INPUT);
        expect(cache.stats).toEqual({ hits: 0, diskHits: 0, misses: 1 });
        expect(result.bytes).toEqual(good.bytes);
        expect(await readFile(file)).toEqual(data);
      }
    } finally {
      await dir.cleanup();
    }
  });

  it("refusals are not cached and propagate", async () => {
    const cache = new MeteringCache();
    await expect(cache.meter(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: "METERING_INVALID" });
    await expect(cache.meter(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: "METERING_INVALID" });
    expect(cache.stats.misses).toBe(2);
  });

  it("bad options are refused naming the field", () => {
    expect(() => new MeteringCache({ directory: "" })).toThrow("directory must be a non-empty string");
    expect(() => new MeteringCache({ maxMemoryEntries: -1 })).toThrow("maxMemoryEntries must be a non-negative integer");
  });
});
