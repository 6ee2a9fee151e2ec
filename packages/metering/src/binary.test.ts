import { describe, expect, it } from "vitest";
import { wat } from "../test/wat.js";
import { stripNameSection } from "./binary.js";
import { meterModule } from "./meter-module.js";

/** Compiles bytes (the TS lib wants an ArrayBuffer-backed view). */
const compile = (bytes: Uint8Array) => new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);

/** Appends a `name` custom section with a module name and a subsection binaryen does not know (id 3). */
function withNameSection(bytes: Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  const moduleName = enc.encode("fixture");
  const payload = [4, ...enc.encode("name"), 0, moduleName.length + 1, moduleName.length, ...moduleName, 3, 1, 0];
  return new Uint8Array([...bytes, 0, payload.length, ...payload]);
}

describe("stripNameSection", () => {
  const plain = wat('(module (func (export "f") (result i32) i32.const 7))');

  it("removes the name section and keeps a valid module with the same behaviour", () => {
    const named = withNameSection(plain);
    expect(WebAssembly.Module.customSections(compile(named), "name")).toHaveLength(1);
    const stripped = stripNameSection(named);
    expect(WebAssembly.Module.customSections(compile(stripped), "name")).toHaveLength(0);
    expect(stripped).toEqual(plain);
    const f = new WebAssembly.Instance(compile(stripped)).exports.f as () => number;
    expect(f()).toBe(7);
  });

  it("returns a module without a name section unchanged", () => {
    expect(stripNameSection(plain)).toBe(plain);
  });

  it("lets meterModule read a module whose name section has subsections binaryen does not know", () => {
    const { bytes } = meterModule(withNameSection(plain));
    expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(true);
  });
});
