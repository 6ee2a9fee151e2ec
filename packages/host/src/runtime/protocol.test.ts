import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Channel, DATA_INITIAL_BYTES, DATA_MAX_BYTES } from "./protocol.js";

/** Two views of the same shared buffers, as the main thread and the worker hold them. */
function pair(): { a: Channel; b: Channel } {
  const bufs = Channel.create();
  return { a: new Channel(bufs.ctl, bufs.data), b: new Channel(bufs.ctl, bufs.data) };
}

describe("the worker wire (Channel)", () => {
  it("round-trips any list of strings (lone surrogates become U+FFFD, as UTF-8 requires)", () => {
    const { a, b } = pair();
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary", maxLength: 200 }), { maxLength: 12 }), (values) => {
        const len = a.writeStrings(values);
        expect(b.readStrings(len)).toEqual(values.map((v) => v.toWellFormed()));
      }),
      { numRuns: 300 },
    );
  });

  it("grows in place past its initial size; the other side sees the grown buffer", () => {
    const { a, b } = pair();
    const big = "é".repeat(DATA_INITIAL_BYTES); // twice the initial size in UTF-8
    const len = a.writeStrings(["x", big, ""]);
    expect(a.data.byteLength).toBeGreaterThan(DATA_INITIAL_BYTES);
    expect(b.readStrings(len)).toEqual(["x", big, ""]);
    // Smaller messages afterwards still read correctly from the grown buffer.
    const len2 = b.writeStrings(["small"]);
    expect(a.readStrings(len2)).toEqual(["small"]);
  });

  it("refuses a message over the wire maximum with a RangeError (nothing written past the buffer)", () => {
    const { a } = pair();
    expect(() => a.writeStrings(["x".repeat(DATA_MAX_BYTES)])).toThrow(RangeError);
  });
});
