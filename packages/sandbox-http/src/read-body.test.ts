import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeUtf8, readLimited } from "./read-body.js";

function streamOf(chunks: Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

describe("readLimited", () => {
  it("returns the whole body when it fits", async () => {
    const r = await readLimited(streamOf([Buffer.from("abc"), Buffer.from("def")]), 6);
    expect(r.bytes.toString()).toBe("abcdef");
    expect(r.truncated).toBe(false);
  });

  it("keeps exactly `limit` bytes, marks truncated and destroys the stream", async () => {
    const s = streamOf([Buffer.from("abc"), Buffer.from("def"), Buffer.from("ghi")]);
    const r = await readLimited(s, 5);
    expect(r.bytes.toString()).toBe("abcde");
    expect(r.truncated).toBe(true);
    expect(s.destroyed).toBe(true);
  });

  it("stops an endless stream at the limit", async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1024;
        this.push(Buffer.alloc(1024, 0x61));
      },
    });
    const r = await readLimited(endless, 10_000);
    expect(r.bytes.length).toBe(10_000);
    expect(r.truncated).toBe(true);
    expect(endless.destroyed).toBe(true);
    expect(produced).toBeLessThan(100_000);
  });

  it("property: never more than limit bytes, and the bytes are the stream's prefix", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 16 }),
        fc.integer({ min: 1, max: 600 }),
        async (parts, limit) => {
          const all = Buffer.concat(parts.map((p) => Buffer.from(p)));
          const r = await readLimited(streamOf(parts.filter((p) => p.length > 0).map((p) => Buffer.from(p))), limit);
          expect(r.bytes.length).toBe(Math.min(limit, all.length));
          expect(r.truncated).toBe(all.length > limit);
          expect(r.bytes.equals(all.subarray(0, r.bytes.length))).toBe(true);
        },
      ),
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
