import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeWitType, parseWit, pluginWorld, witSource, WitSyntaxError } from "./index.js";

const packageDir = join(fileURLToPath(import.meta.url), "..", "..");

describe("witSource and the shipped WIT", () => {
  it("witSource is the text of wit/plugin.wit at the repository root, and so is the package's wit/plugin.wit copy", async () => {
    const root = await readFile(join(packageDir, "..", "..", "wit", "plugin.wit"), "utf8");
    expect(witSource).toBe(root);
    expect(await readFile(join(packageDir, "wit", "plugin.wit"), "utf8")).toBe(root);
  });

  it("pluginWorld is read from it: clawft:plugin@0.1.0, world plugin, host and plugin", () => {
    expect(pluginWorld.package).toBe("clawft:plugin@0.1.0");
    expect(pluginWorld.world).toBe("plugin");
    expect(pluginWorld.importName).toBe("host");
    expect(pluginWorld.exportName).toBe("plugin");
    expect(pluginWorld.hostFunctions.map((f) => f.name)).toEqual(["http-request", "read-file", "write-file", "get-env", "log"]);
    expect(pluginWorld.pluginFunctions.map((f) => f.name)).toEqual(["init", "execute-tool", "describe"]);
  });
});

describe("parseWit", () => {
  it("reads comments, gates, nested packages, type definitions and named imports", () => {
    const doc = parseWit(`
      // a line comment
      /* a /* nested */ block comment */
      package a:b@1.0.0;
      interface types {
        record point { x: u32, y: u32 }
        enum color { red, green }
        resource thing;
        type id = string;
        use wasi:io/streams@0.2.0.{input-stream};
        @since(version = 0.2.0)
        get: func(p: point, ids: list<id>) -> option<point>;
        old: func() -> (a: u32, b: string);
        run: async func(x: list<u8, 4>);
      }
      world w {
        @unstable(feature = x)
        import wasi:cli/environment@0.2.3;
        import types;
        import host: interface { f: func(s: string); }
        export run: func() -> result;
        include other;
      }
      package wasi:cli@0.2.3 {
        interface environment { get-environment: func() -> list<tuple<string, string>>; }
      }
    `);
    expect(doc.packages.map((p) => p.name)).toEqual(["a:b@1.0.0", "wasi:cli@0.2.3"]);
    const types = doc.packages[0]!.interfaces.get("types")!;
    expect(types.types).toEqual(["point", "color", "thing", "id"]);
    expect(types.functions.map((f) => f.signature)).toEqual([
      "func(p: point, ids: list<id>) -> option<point>",
      "func() -> (a: u32, b: string)",
      "async func(x: list<u8, 4>)",
    ]);
    const world = doc.packages[0]!.worlds.get("w")!;
    expect(world.items.map((i) => `${i.direction} ${i.kind} ${i.name}`)).toEqual([
      "import interface wasi:cli/environment@0.2.3",
      "import interface types",
      "import interface host",
      "export function run",
    ]);
    const env = world.items[0]!;
    expect(env.kind === "interface" && env.interface?.functions[0]?.signature).toBe("func() -> list<tuple<string, string>>");
    const local = world.items[1]!;
    expect(local.kind === "interface" && local.interface?.name).toBe("types");
  });

  it("names the line of a syntax error", () => {
    expect(() => parseWit("package a:b;\nworld w {\n  import x: func(;\n}")).toThrow(WitSyntaxError);
    expect(() => parseWit("package a:b;\nworld w {\n  import x: func(;\n}")).toThrow(/\(line 3\)$/);
    expect(() => parseWit("world w { $ }")).toThrow('unexpected character "$" (line 1)');
    expect(() => parseWit("/* never closed")).toThrow("unterminated block comment");
    expect(() => parseWit("world w {")).toThrow('expected "}"');
  });

  it("property: printed types normalise to themselves whatever the spacing", () => {
    const prim = fc.constantFrom("u8", "u32", "s64", "f64", "string", "bool", "char", "my-record");
    const type: fc.Arbitrary<string> = fc.letrec<{ t: string }>((tie) => ({
      t: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        prim,
        tie("t").map((t) => `list<${t}>`),
        tie("t").map((t) => `option<${t}>`),
        fc.tuple(tie("t"), tie("t")).map(([a, b]) => `result<${a}, ${b}>`),
        tie("t").map((t) => `result<_, ${t}>`),
        fc.array(tie("t"), { minLength: 1, maxLength: 3 }).map((ts) => `tuple<${ts.join(", ")}>`),
      ),
    })).t;
    fc.assert(
      fc.property(type, fc.constantFrom("", " ", "  ", "\n"), (t, space) => {
        const spaced = t.replaceAll("<", `${space}<${space}`).replaceAll(", ", `${space},${space}`).replaceAll(">", `${space}>`);
        expect(normalizeWitType(spaced)).toBe(t);
      }),
      { numRuns: 300 },
    );
  });
});
