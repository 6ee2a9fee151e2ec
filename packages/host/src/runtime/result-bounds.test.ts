import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  GUEST_TEXT_MAX_BYTES,
  RESULT_MAX_DEPTH,
  checkResult,
  cutGuestText,
  resultContainerLimit,
  scanJson,
} from "./result-bounds.js";

const MiB = 1024 * 1024;

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Text close to JSON: valid JSON, then some edits (a character inserted, removed or replaced). */
const nearJson = fc
  .tuple(
    fc.json({ maxDepth: 4 }),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom("ins", "del", "rep"),
        fc.constantFrom(..."[]{}\",:0123456789.eE+- \t\n\rtruefalsnl\\u/bx\u0000\u2028\ud800".split("")),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([json, edits]) => {
    let s = json;
    for (const [at, op, ch] of edits) {
      const p = s.length === 0 ? 0 : at % (s.length + 1);
      if (op === "ins") s = s.slice(0, p) + ch + s.slice(p);
      else if (op === "del") s = s.slice(0, p) + s.slice(p + 1);
      else s = s.slice(0, p) + ch + s.slice(p + 1);
    }
    return s;
  });
/** Short strings over the JSON alphabet (most are invalid; some are tricky valid ones). */
const jsonAlphabet = fc
  .array(fc.constantFrom(..."[]{}\",:0123456789.eE+- \ttruefalsnl\\u".split("")), { maxLength: 16 })
  .map((a) => a.join(""));

describe("scanJson agrees with JSON.parse", () => {
  it("T55 property: valid exactly when JSON.parse succeeds (JSON, edited JSON, random text)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.json({ maxDepth: 5 }), nearJson, jsonAlphabet, fc.string()), (text) => {
        expect(scanJson(text).valid).toBe(parses(text));
      }),
      { numRuns: 5000 },
    );
  });

  it("T55 property: depth and container count match the parsed value", () => {
    const measure = (v: unknown): { depth: number; containers: number } => {
      if (typeof v !== "object" || v === null) return { depth: 0, containers: 0 };
      let depth = 0;
      let containers = 1;
      for (const child of Object.values(v)) {
        const m = measure(child);
        depth = Math.max(depth, m.depth);
        containers += m.containers;
      }
      return { depth: depth + 1, containers };
    };
    fc.assert(
      fc.property(fc.json({ maxDepth: 6 }), (text) => {
        const scan = scanJson(text);
        expect(scan.valid).toBe(true);
        // Duplicate keys collapse in JSON.parse; fc.json() generates none.
        expect({ depth: scan.depth, containers: scan.containers }).toEqual(measure(JSON.parse(text)));
      }),
      { numRuns: 2000 },
    );
  });

  it("T55 edge cases of the grammar", () => {
    for (const ok of [" 0 ", "-0", "1e5", "1E+5", "-1.5e-3", '"\\u00e9"', '"\ud800"', '"\u2028"', "[]", "{}", '{"a":[1,{"b":null}]}', "\t\r\n[ ]\n"]) {
      expect(scanJson(ok).valid, ok).toBe(true);
    }
    for (const bad of ["", " ", "01", "1.", ".5", "+1", "1e", "--1", "[1,]", "[,1]", '{"a"}', '{"a":1,}', "{1:2}", '"\u0001"', '"\\x"', '"\\u12"', "tru", "nul", "[1 2]", "[", "]", "{}{}", "\u00a0[]", "'a'"]) {
      expect(scanJson(bad).valid, JSON.stringify(bad)).toBe(false);
      expect(parses(bad)).toBe(false);
    }
  });

  it("T55 counts depth and containers without recursion (a million levels)", () => {
    const deep = "[".repeat(1_000_000) + "]".repeat(1_000_000);
    expect(scanJson(deep)).toEqual({ valid: true, depth: 1_000_000, containers: 1_000_000 });
    expect(scanJson("[".repeat(1_000_000)).valid).toBe(false);
  });
});

describe("checkResult", () => {
  it("T54 a result over maxBytes is refused from its length, with the byte count", () => {
    const r = checkResult(JSON.stringify("a".repeat(2 * MiB)), MiB);
    expect(r).toMatchObject({ type: "refused", code: "PLUGIN_RESULT_TOO_LARGE", limit: MiB, used: 2 * MiB + 2 });
    expect(r.type === "refused" && r.message).toBe(`result too large: ${2 * MiB + 2} bytes (limit ${MiB})`);
  });

  it("T54 counts UTF-8 bytes, not UTF-16 units (a multi-byte result at the limit)", () => {
    const text = "é".repeat(500); // 1000 bytes
    expect(checkResult(text, 1000).type).toBe("text");
    expect(checkResult(text, 999)).toMatchObject({ code: "PLUGIN_RESULT_TOO_LARGE", used: 1000 });
    expect(checkResult("😀", 3)).toMatchObject({ code: "PLUGIN_RESULT_TOO_LARGE", used: 4 });
  });

  it("T55 nesting over 64 levels is refused; 64 levels pass", () => {
    const nest = (d: number) => "[".repeat(d) + "]".repeat(d);
    expect(checkResult(nest(RESULT_MAX_DEPTH), MiB).type).toBe("json");
    expect(checkResult(nest(RESULT_MAX_DEPTH + 1), MiB)).toMatchObject({
      type: "refused",
      code: "PLUGIN_RESULT_TOO_DEEP",
      limit: 64,
      used: 65,
    });
  });

  it("T55 [{},{},...] is refused by its container count; ordinary records pass", () => {
    const empties = `[${Array.from({ length: 100_000 }, () => "{}").join(",")}]`;
    const r = checkResult(empties, MiB);
    expect(r).toMatchObject({ type: "refused", code: "PLUGIN_RESULT_TOO_COMPLEX", used: 100_001 });
    expect(r.type === "refused" && r.message).toMatch(/^result too complex: 100001 objects and arrays \(limit 19774 for 300001 bytes\)$/);
    const records = JSON.stringify(
      Array.from({ length: 15_000 }, (_, i) => ({ id: i, name: `item ${i}`, ok: true, tags: ["a", "b"] })),
    );
    expect(Buffer.byteLength(records)).toBeLessThan(MiB);
    expect(checkResult(records, MiB).type).toBe("json");
  });

  it("T55 the container limit grows with the size: 1024 free, then one per 16 bytes", () => {
    expect(resultContainerLimit(0)).toBe(1024);
    expect(resultContainerLimit(MiB)).toBe(1024 + 65536);
    const few = `[${Array.from({ length: 1023 }, () => "{}").join(",")}]`; // 1024 containers
    expect(checkResult(few, MiB).type).toBe("json");
  });

  it("T54 a non-JSON result stays text (returned as the raw string), even if it looks nested", () => {
    expect(checkResult("hello", MiB).type).toBe("text");
    expect(checkResult("[".repeat(10_000), MiB).type).toBe("text");
    expect(checkResult("", MiB).type).toBe("text");
  });
});

describe("cutGuestText", () => {
  it("T57 a 15 MiB string is cut to 4 KiB with a visible marker and its full length", () => {
    const text = "x".repeat(15 * MiB);
    const out = cutGuestText(text);
    expect(out).toBe(`${"x".repeat(GUEST_TEXT_MAX_BYTES)}... [truncated, ${15 * MiB} bytes]`);
  });

  it("T57 never cuts inside a character (multi-byte and surrogate pairs)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1000, maxLength: 3000 }), (s) => {
        const out = cutGuestText(s, 1000);
        if (Buffer.byteLength(s) <= 1000) {
          expect(out).toBe(s);
          return;
        }
        const m = /^([\s\S]*)\.\.\. \[truncated, (\d+) bytes\]$/.exec(out);
        expect(m).not.toBeNull();
        const head = m?.[1] ?? "";
        expect(Number(m?.[2])).toBe(Buffer.byteLength(s));
        expect(Buffer.byteLength(head)).toBeLessThanOrEqual(1000);
        expect(s.startsWith(head)).toBe(true);
        expect(Buffer.from(head, "utf8").toString("utf8")).toBe(head); // well-formed UTF-16
      }),
      { numRuns: 200 },
    );
  });

  it("T57 short text is unchanged", () => {
    expect(cutGuestText("fail: bad input")).toBe("fail: bad input");
    expect(cutGuestText("é".repeat(2048))).toBe("é".repeat(2048)); // exactly 4096 bytes
  });
});
