import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { escapeControlText, escapeJsonControlText, truncateLogMessage } from "./log.js";

/** Every character a terminal or log line must never receive from a plugin as is. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/** The reading of an escaped text back into the original (proves the escaping is injective). */
function unescape(text: string): string {
  return text.replace(/\\(\\|t|n|r|x[0-9a-f]{2}|u[0-9a-f]{4})/g, (_m, e: string) => {
    if (e === "\\") return "\\";
    if (e === "t") return "\t";
    if (e === "n") return "\n";
    if (e === "r") return "\r";
    return String.fromCharCode(parseInt(e.slice(1), 16));
  });
}

/** Strings rich in the characters that matter: controls, bidi, separators, backslashes, surrogates. */
const hostileChar = fc.oneof(
  fc.integer({ min: 0, max: 0x9f }).map((c) => String.fromCharCode(c)),
  fc.constantFrom("\\", "x", "u", "1", "b", "\u202a", "\u202e", "\u2066", "\u2069", "\u2028", "\u2029", "\u200e", "\u061c"),
  fc.constantFrom("\ud800", "\udfff", "\ud83d\ude00", "é", "日"),
  fc.string({ unit: "grapheme", maxLength: 2 }),
);
const hostileText = fc.array(hostileChar, { maxLength: 60 }).map((a) => a.join(""));
const anyText = fc.oneof(hostileText, fc.string({ unit: "binary", maxLength: 80 }), fc.string({ maxLength: 80 }));

describe("escapeControlText", () => {
  it("T56 a forged line, ANSI/OSC escapes, NUL and bidi overrides become visible escapes", () => {
    const forged = "ok\n[clawft error] other.plugin: forged\r\x1b[31mred\x1b]0;title\x07\x00\u202eevil\u2066x\u2069\u2028\x9b\x7f";
    const out = escapeControlText(forged);
    expect(out).toBe(
      "ok\\n[clawft error] other.plugin: forged\\r\\x1b[31mred\\x1b]0;title\\x07\\x00\\u202eevil\\u2066x\\u2069\\u2028\\x9b\\x7f",
    );
    expect(out).not.toMatch(UNSAFE);
  });

  it("T56 leaves plain text (other non-ASCII included) as it is, and the same string object", () => {
    const plain = "héllo 日本 😀 [clawft info] tab-free";
    expect(escapeControlText(plain)).toBe(plain);
    expect(escapeControlText("")).toBe("");
  });

  it("T56 escapes the backslash, so a literal `\\x1b` in the input never reads as an escape", () => {
    expect(escapeControlText("\\x1b")).toBe("\\\\x1b");
    expect(escapeControlText("\x1b")).toBe("\\x1b");
    expect(escapeControlText("C:\\dir")).toBe("C:\\\\dir");
  });

  it("T56 escapes lone surrogates but keeps a valid pair", () => {
    expect(escapeControlText("a\ud800b")).toBe("a\\ud800b");
    expect(escapeControlText("\udc00")).toBe("\\udc00");
    expect(escapeControlText("\ud83d\ude00")).toBe("\ud83d\ude00");
  });

  it("T56 property: the output holds no control, bidi or separator character and is well-formed UTF-16", () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const out = escapeControlText(s);
        expect(out).not.toMatch(UNSAFE);
        expect(Buffer.from(out, "utf8").toString("utf8")).toBe(out); // well-formed UTF-16
      }),
      { numRuns: 2000 },
    );
  });

  it("T56 property: the escaping is injective (it reads back to the input) and one line stays one line", () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const out = escapeControlText(s);
        expect(unescape(out)).toBe(s);
        expect(`[clawft info] p: ${out}\n`.split("\n")).toHaveLength(2);
      }),
      { numRuns: 2000 },
    );
  });

  it("T56 property: text without anything to escape is unchanged", () => {
    const safe = fc.string({ unit: "grapheme", maxLength: 60 }).filter((s) => !UNSAFE.test(s) && !s.includes("\\"));
    fc.assert(fc.property(safe, (s) => escapeControlText(s) === s));
  });

  it("T56 composes with truncateLogMessage: a cut message is escaped without a control character", () => {
    const msg = `${"\x1b[2J".repeat(2000)}\n[clawft error] x: y`;
    const out = escapeControlText(truncateLogMessage(msg));
    expect(out).not.toMatch(UNSAFE);
    expect(out.endsWith("... [truncated]")).toBe(true);
  });

  it("rejects a non-string", () => {
    expect(() => escapeControlText(1 as unknown as string)).toThrow(TypeError);
  });
});

describe("escapeJsonControlText", () => {
  it("T56 escapes what JSON.stringify leaves raw (DEL, C1, bidi, U+2028/U+2029) as \\u escapes", () => {
    const json = JSON.stringify({ path: "a\u202eb\u2028c\x7f\x9b\u2066\n" });
    expect(escapeJsonControlText(json)).toBe('{"path":"a\\u202eb\\u2028c\\u007f\\u009b\\u2066\\n"}');
    expect(escapeJsonControlText('{"a":1}')).toBe('{"a":1}');
  });

  it("T56 property: the JSON still parses to the same value and holds no control, bidi or separator character", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.jsonValue().map((v) => JSON.stringify(v) ?? "")), (s) => {
        const json = JSON.stringify({ s, nested: [s] });
        const out = escapeJsonControlText(json);
        expect(out).not.toMatch(UNSAFE);
        expect(JSON.parse(out)).toEqual(JSON.parse(json));
      }),
      { numRuns: 2000 },
    );
  });
});
