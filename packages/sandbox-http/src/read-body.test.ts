import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteCollector, decodeUtf8 } from "./read-body.js";

describe("ByteCollector", () => {
  it("keeps the whole body when it fits", () => {
    const c = new ByteCollector(6);
    expect(c.push(Buffer.from("abc"))).toBe(true);
    expect(c.push(Buffer.from("def"))).toBe(true);
    expect(c.bytes().toString()).toBe("abcdef");
    expect(c.truncated).toBe(false);
  });

  it("keeps exactly `limit` bytes, says stop and marks truncated", () => {
    const c = new ByteCollector(5);
    expect(c.push(Buffer.from("abc"))).toBe(true);
    expect(c.push(Buffer.from("def"))).toBe(false);
    expect(c.push(Buffer.from("ghi"))).toBe(false);
    expect(c.bytes().toString()).toBe("abcde");
    expect(c.truncated).toBe(true);
    expect(c.size).toBe(5);
  });

  it("takes Uint8Array chunks that are not Buffers", () => {
    const c = new ByteCollector(10);
    c.push(new Uint8Array([0x68, 0x69]));
    expect(c.bytes().toString()).toBe("hi");
  });

  it("property: never more than limit bytes, the bytes are the stream's prefix, truncated iff longer", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 16 }), fc.integer({ min: 1, max: 600 }), (parts, limit) => {
        const all = Buffer.concat(parts.map((p) => Buffer.from(p)));
        const c = new ByteCollector(limit);
        for (const p of parts) if (!c.push(Buffer.from(p))) break;
        const bytes = c.bytes();
        expect(bytes.length).toBe(Math.min(limit, all.length));
        expect(c.truncated).toBe(all.length > limit);
        expect(bytes.equals(all.subarray(0, bytes.length))).toBe(true);
      }),
    );
  });
});

describe("decodeUtf8", () => {
  it("drops a character cut at the end of a truncated body instead of emitting U+FFFD", () => {
    const euro = Buffer.from("a€", "utf8"); // 61 e2 82 ac
    expect(decodeUtf8(euro.subarray(0, 3), true)).toBe("a");
    expect(decodeUtf8(euro.subarray(0, 2), true)).toBe("a");
    expect(decodeUtf8(euro, true)).toBe("a€");
  });

  it("turns invalid UTF-8 into U+FFFD, and an incomplete end of a complete body too", () => {
    expect(decodeUtf8(Buffer.from([0x61, 0xff, 0x62]), false)).toBe("a\ufffdb");
    expect(decodeUtf8(Buffer.from([0x61, 0xe2, 0x82]), false)).toBe("a\ufffd");
  });

  it("keeps a byte-order mark", () => {
    expect(decodeUtf8(Buffer.from([0xef, 0xbb, 0xbf, 0x61]), false)).toBe("\ufeffa");
  });

  it("property: a truncated decode is a prefix of the text, missing at most 3 bytes", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), fc.nat({ max: 800 }), (text, cut) => {
        const bytes = Buffer.from(text, "utf8");
        const limit = Math.min(cut, bytes.length);
        const out = decodeUtf8(bytes.subarray(0, limit), true);
        expect(text.startsWith(out)).toBe(true);
        const outBytes = Buffer.byteLength(out, "utf8");
        expect(outBytes).toBeLessThanOrEqual(limit);
        expect(limit - outBytes).toBeLessThanOrEqual(3);
      }),
    );
  });
});
