import { describe, expect, it } from "vitest";
import { jsonText, safeText } from "./format.js";

describe("CLI text for the terminal", () => {
  it("T56 safeText escapes controls, newlines and bidi (one line), then cuts", () => {
    expect(safeText("a\n[clawft error] x: y\x1b[2J\u202eb")).toBe("a\\n[clawft error] x: y\\x1b[2J\\u202eb");
    expect(safeText("C:\\dir")).toBe("C:\\\\dir");
    expect(safeText("x".repeat(300), 10)).toBe(`${"x".repeat(9)}…`);
  });

  it("T56 jsonText is JSON.stringify with DEL, C1, bidi and U+2028/U+2029 escaped; it parses back to the same value", () => {
    const value = { output: "a\u202eb\u2028c\x7f\x9b\u2066d\n\x1b", n: 1 };
    const text = jsonText(value);
    expect(text).toBe('{"output":"a\\u202eb\\u2028c\\u007f\\u009b\\u2066d\\n\\u001b","n":1}');
    expect(text).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/);
    expect(JSON.parse(text)).toEqual(value);
    expect(jsonText([1], 2)).toBe("[\n  1\n]");
  });
});
