import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PROGRAMS } from "../test/fixtures/programs.js";
import { fn, instantiate, wat } from "../test/wat.js";
import { FuelMeter, MeteringError, meterModule, ResourceExhaustedError } from "./index.js";

describe("differential: plain and metered modules compute the same results", () => {
  for (const program of PROGRAMS) {
    it(program.name, () => {
      const plainBytes = wat(program.wat);
      const { bytes, meta } = meterModule(plainBytes);
      expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(true);
      const meter = new FuelMeter();
      const plain = instantiate(plainBytes);
      const metered = instantiate(bytes, meter.importsFor(meta));
      for (const [name, args] of program.calls) {
        meter.reset();
        const expected = fn<unknown[], unknown>(plain, name)(...args);
        expect(fn<unknown[], unknown>(metered, name)(...args), `${name}(${args.join(", ")})`).toEqual(expected);
        expect(meter.consumed).toBeGreaterThan(0);
        expect(meter.exhausted).toBeUndefined();
      }
    });
  }
});

const LOOPS = PROGRAMS.find((p) => p.name.startsWith("loops"))?.wat as string;
const MEMORY = PROGRAMS.find((p) => p.name.startsWith("memory ops"))?.wat as string;
const SWITCH = PROGRAMS.find((p) => p.name.startsWith("br_table"))?.wat as string;
const INDIRECT = PROGRAMS.find((p) => p.name.startsWith("call_indirect"))?.wat as string;

describe("properties", () => {
  const loopsPlain = wat(LOOPS);
  const loopsMetered = meterModule(loopsPlain);

  it("fuel consumed is monotonic in the amount of work (loop iteration count n)", () => {
    const meter = new FuelMeter();
    const sum = fn<[number], number>(instantiate(loopsMetered.bytes, meter.importsFor(loopsMetered.meta)), "sum");
    const cost = (n: number): number => {
      meter.reset();
      sum(n);
      return meter.consumed;
    };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 20_000 }), (n, k) => {
        const a = cost(n);
        const b = cost(n + k);
        expect(b).toBeGreaterThan(a);
        // And linear: each extra iteration costs the same.
        expect((b - a) % k).toBe(0);
      }),
    );
  });

  it("nested loops: consumed fuel grows with n", () => {
    const meter = new FuelMeter();
    const nested = fn<[number], number>(instantiate(loopsMetered.bytes, meter.importsFor(loopsMetered.meta)), "nested");
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 50 }), (n, k) => {
        meter.reset();
        nested(n);
        const a = meter.consumed;
        meter.reset();
        nested(n + k);
        expect(meter.consumed).toBeGreaterThan(a);
      }),
      { numRuns: 50 },
    );
  });

  it("metered === plain for random inputs", () => {
    const programs = [LOOPS, MEMORY, SWITCH, INDIRECT].map((text) => {
      const plainBytes = wat(text);
      const { bytes, meta } = meterModule(plainBytes);
      const meter = new FuelMeter();
      return { plain: instantiate(plainBytes), metered: instantiate(bytes, meter.importsFor(meta)), meter };
    });
    const [loops, memory, sw, indirect] = programs as [
      (typeof programs)[0],
      (typeof programs)[0],
      (typeof programs)[0],
      (typeof programs)[0],
    ];
    const same = (p: (typeof programs)[0], name: string, args: unknown[]): void => {
      p.meter.reset();
      let expected: unknown;
      let expectedError: unknown;
      try {
        expected = fn<unknown[], unknown>(p.plain, name)(...args);
      } catch (e) {
        expectedError = e;
      }
      if (expectedError) {
        expect(() => fn<unknown[], unknown>(p.metered, name)(...args)).toThrow((expectedError as Error).constructor as new () => Error);
      } else {
        expect(fn<unknown[], unknown>(p.metered, name)(...args)).toEqual(expected);
      }
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.bigInt({ min: -5n, max: 25n }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: -3, max: 10 }),
        fc.integer(),
        fc.integer(),
        (n, f, p, v, op, a, b) => {
          same(loops, "sum", [n]);
          same(loops, "fact", [f]);
          same(loops, "nested", [n % 60]);
          same(memory, "sumBytes", [p, n % 200]);
          same(memory, "fillCopy", [v]);
          same(sw, "classify", [op]);
          same(indirect, "apply", [op, a, b]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("robustness", () => {
  const seeds = PROGRAMS.map((p) => wat(p.wat));

  it("mutated modules are refused with a MeteringError or metered into a valid module, never a crash", () => {
    let metered = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (which, edits) => {
          const bytes = Uint8Array.from(seeds[which] as Uint8Array);
          for (const [at, value] of edits) bytes[8 + (at % (bytes.length - 8))] = value;
          try {
            const out = meterModule(bytes);
            expect(WebAssembly.validate(out.bytes as Uint8Array<ArrayBuffer>)).toBe(true);
            metered++;
          } catch (e) {
            expect(MeteringError.isInstance(e) || ResourceExhaustedError.isInstance(e)).toBe(true);
            refused++;
          }
        },
      ),
      { numRuns: 300 },
    );
    // Both paths were exercised (one-byte edits of constants keep a module valid; most others do not).
    expect(metered).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});
