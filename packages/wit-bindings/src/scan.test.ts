import { parse } from "@bytecodealliance/jco";
import { buildFixture, buildJsExamplePlugin, fixtureNames } from "@clawft/wasm-fixtures";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_COMPONENT_LIMITS, inspectComponent, scanComponent, WitOptionsError, WitValidationError } from "./index.js";

const PREAMBLE = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

function scanError(bytes: Uint8Array, limits?: Parameters<typeof scanComponent>[1]): WitValidationError {
  try {
    scanComponent(bytes, limits);
  } catch (error) {
    if (WitValidationError.isInstance(error)) return error as WitValidationError;
    throw error;
  }
  throw new Error("expected the scan to refuse the component");
}

/** `t0 = tuple<u32, u32>`, `t(i) = tuple<t(i-1), t(i-1)>`: 2^(levels+1) - 1 nodes once expanded. */
function doublingTuples(levels: number): string {
  let types = "(type $t0 (tuple u32 u32))";
  for (let i = 1; i <= levels; i++) types += `(type $t${i} (tuple $t${i - 1} $t${i - 1}))`;
  return `(component ${types} (type (func (param "x" $t${levels}))))`;
}

describe("scanComponent: what real plugins need, under the defaults", () => {
  it("T58 every WAT fixture (wit-component output) but the type bomb passes, with room to spare", async () => {
    for (const name of fixtureNames) {
      if (name === "nested-types") continue;
      const scan = scanComponent(await buildFixture(name));
      expect(scan.maxTypeDepth, name).toBeLessThanOrEqual(4);
      expect(scan.maxTypeSize, name).toBeLessThan(200);
      expect(scan.totalTypeSize, name).toBeLessThan(1000);
      // wit-component's three (main, shim, fixup); memory-multiplier adds its hog and driver modules.
      expect(scan.coreModules, name).toBe(name === "memory-multiplier" ? 5 : 3);
    }
  });

  it("T58 the componentize-qjs JS example passes: depth, sizes and counts well under every default", async () => {
    const scan = scanComponent(await buildJsExamplePlugin());
    expect(scan.maxTypeDepth).toBeLessThan(DEFAULT_COMPONENT_LIMITS.maxTypeDepth / 3);
    expect(scan.maxTypeSize).toBeLessThan(DEFAULT_COMPONENT_LIMITS.maxTypeSize / 10);
    expect(scan.totalTypeSize).toBeLessThan(DEFAULT_COMPONENT_LIMITS.maxTotalTypeSize / 10);
    expect(scan.types).toBeLessThan(DEFAULT_COMPONENT_LIMITS.maxTypes / 5);
    expect(scan.componentNesting).toBe(3);
    expect(scan.coreModules).toBeLessThan(DEFAULT_COMPONENT_LIMITS.maxCoreModules / 2);
    expect(scan.hostImportFunctions).toEqual(["http-request", "read-file", "write-file", "get-env", "log"]);
    expect(scan.coreHostImports).toEqual(["get-env", "http-request", "log", "read-file", "write-file"]);
  }, 120_000);

  it("reports the outer host import's functions and every core module's host imports", async () => {
    const scan = scanComponent(await buildFixture("host-calls"));
    expect(scan.hostImportFunctions).toEqual(["http-request", "read-file", "write-file", "get-env", "log"]);
    expect(scan.coreHostImports).toEqual(["get-env", "http-request", "log", "read-file", "write-file"]);
    const none = scanComponent(await parse(`(component (core module (import "host" "log" (func (param i32 i32 i32)))))`));
    expect(none.hostImportFunctions).toEqual([]);
    expect(none.coreHostImports).toEqual(["log"]);
  });
});

describe("scanComponent: refusals (WIT_TOO_COMPLEX names what was over)", () => {
  it("T58 a tuple type that doubles at each of 20 levels (4M nodes from ~200 bytes) is refused by maxTypeSize", async () => {
    const bytes = await parse(doublingTuples(20));
    expect(bytes.length).toBeLessThan(300);
    const error = scanError(bytes);
    expect(error.code).toBe("WIT_TOO_COMPLEX");
    expect(error.message).toBe("component too complex: expanded type size 8191 exceeds 4096 (maxTypeSize)");
  });

  it("T58 the same bomb at 9 levels passes the per-type limit and is stopped by maxTotalTypeSize when used 40 times", async () => {
    let types = "(type $t0 (tuple u32 u32))";
    for (let i = 1; i <= 9; i++) types += `(type $t${i} (tuple $t${i - 1} $t${i - 1}))`;
    types += `(type $f (func (param "x" $t9)))`;
    const exports = Array.from({ length: 40 }, (_, i) => `(export "f${i}" (func (type $f)))`).join("");
    const bytes = await parse(`(component ${types} (type (instance (alias outer 1 $f (type $g)) ${exports.replaceAll("$f", "$g")})))`);
    expect(scanComponent(await parse(`(component ${types})`)).maxTypeSize).toBe(2049);
    const error = scanError(bytes);
    expect(error.message).toMatch(/^component too complex: total type size \d+ exceeds 65536 \(maxTotalTypeSize\)$/);
  });

  it("T58 value types nested 40 deep are refused by maxTypeDepth", async () => {
    let types = "(type $t0 u32)";
    for (let i = 1; i <= 40; i++) types += `(type $t${i} (option $t${i - 1}))`;
    const error = scanError(await parse(`(component ${types})`));
    expect(error.message).toBe("component too complex: type nesting depth 33 exceeds 32 (maxTypeDepth)");
    expect(scanComponent(await parse(`(component ${types})`), { maxTypeDepth: 64 }).maxTypeDepth).toBe(40);
  });

  it("T58 20,000 nested components are refused at the nesting limit, without deep recursion", () => {
    // Built inside out: each level is a component section holding the next.
    const prefixes: number[][] = [];
    let length = PREAMBLE.length;
    for (let i = 0; i < 20_000; i++) {
      const prefix = [...PREAMBLE, 4, ...leb(length)];
      prefixes.push(prefix);
      length += prefix.length;
    }
    const bytes = new Uint8Array(length);
    let at = 0;
    for (let i = prefixes.length - 1; i >= 0; i--) {
      bytes.set(prefixes[i] as number[], at);
      at += (prefixes[i] as number[]).length;
    }
    bytes.set(PREAMBLE, at);
    const error = scanError(bytes);
    expect(error.message).toBe("component too complex: component nesting 9 exceeds 8 (maxComponentNesting)");
  });

  it("T58 instance types declared inside each other 50,000 deep are refused at the depth limit, without a stack overflow", () => {
    // (type (instance (type (instance (type (instance …))))))
    const body: number[] = [];
    for (let i = 0; i < 50_000; i++) body.push(0x42, 0x01, 0x01);
    body.push(0x42, 0x00);
    const bytes = new Uint8Array([...PREAMBLE, ...section(7, [0x01, ...body])]);
    expect(scanError(bytes).message).toBe("component too complex: type nesting depth 33 exceeds 32 (maxTypeDepth)");
  });

  it("T58 counts core modules, instances, imports and exports against their limits", async () => {
    const modules = "(core module)".repeat(5);
    expect(scanError(await parse(`(component ${modules})`), { maxCoreModules: 4 }).message).toBe(
      "component too complex: core modules 5 exceeds 4 (maxCoreModules)",
    );
    const instances = '(core module $m) (core instance (instantiate $m)) (core instance (instantiate $m)) (core instance (instantiate $m))';
    expect(scanError(await parse(`(component ${instances})`), { maxCoreInstances: 2 }).message).toBe(
      "component too complex: core instances 3 exceeds 2 (maxCoreInstances)",
    );
    const imports = Array.from({ length: 4 }, (_, i) => `(import "f${i}" (func))`).join("");
    expect(scanError(await parse(`(component ${imports})`), { maxImports: 3 }).message).toBe(
      "component too complex: imports 4 exceeds 3 (maxImports)",
    );
  });

  it("T58 inspectComponent (and so validation) refuses a type bomb before jco decodes it", async () => {
    await expect(inspectComponent(await parse(doublingTuples(20)))).rejects.toMatchObject({ code: "WIT_TOO_COMPLEX" });
    const bomb = await buildFixture("nested-types");
    await expect(inspectComponent(bomb)).rejects.toMatchObject({ code: "WIT_TOO_COMPLEX", message: expect.stringContaining("maxTypeSize") });
    await expect(inspectComponent(bomb, { limits: { maxTypeSize: 1e9, maxTotalTypeSize: 1e9 } })).resolves.toMatchObject({
      exports: [{ name: "plugin" }, { name: "extra" }],
    });
  }, 60_000);
});

describe("scanComponent: malformed input", () => {
  it("refuses garbage, a core module and truncated components with stable codes", async () => {
    expect(scanError(new Uint8Array([1, 2, 3])).code).toBe("WIT_NOT_A_COMPONENT");
    expect(scanError(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])).code).toBe("WIT_NOT_A_COMPONENT");
    const good = await buildFixture("tool-basic");
    for (const cut of [9, 100, 1000, good.length - 1]) {
      expect(scanError(good.subarray(0, cut)).code, String(cut)).toBe("WIT_INVALID_COMPONENT");
    }
    expect(scanError(new Uint8Array([...PREAMBLE, 0x0c, 0x00])).message).toBe("invalid component: unknown section id 12");
  });

  it("never throws anything but a WitValidationError, whatever the bytes (property)", async () => {
    const good = await buildFixture("tool-basic");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.nat(good.length - 1), fc.nat(255), (tail, at, value) => {
        const flipped = new Uint8Array(good);
        flipped[at] = value;
        for (const input of [new Uint8Array([...PREAMBLE, ...tail]), flipped]) {
          try {
            scanComponent(input);
          } catch (error) {
            expect(WitValidationError.isInstance(error)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("validates its limits once, naming the field", () => {
    expect(() => scanComponent(new Uint8Array(PREAMBLE), { maxTypeDepth: 0 })).toThrow(WitOptionsError);
    expect(() => scanComponent(new Uint8Array(PREAMBLE), { maxTypeDepth: 0 })).toThrow("limits.maxTypeDepth must be a positive integer");
    expect(() => scanComponent(new Uint8Array(PREAMBLE), { maxDepth: 3 } as never)).toThrow("limits.maxDepth is not a known limit");
  });
});
