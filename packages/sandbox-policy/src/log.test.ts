import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createFakeClock } from "@clawft/test-utils";
import { LogLimiter, TRUNCATION_SUFFIX, truncateLogMessage } from "./log.js";

const bytes = (s: string): number => Buffer.byteLength(s, "utf8");

describe("LogLimiter", () => {
  it("T33 100 messages inside a minute are all written", () => {
    const clock = createFakeClock();
    const limiter = new LogLimiter({ now: clock.now });
    for (let i = 0; i < 100; i++) {
      expect(limiter.tryLog()).toBe(true);
      clock.advance(500);
    }
    expect(limiter.dropped).toBe(0);
    expect(limiter.takeDropped()).toBe(0);
  });

  it("T34 the 101st is dropped silently and counted; one warning with the count when the window ends", () => {
    const clock = createFakeClock();
    const limiter = new LogLimiter({ now: clock.now });
    for (let i = 0; i < 100; i++) expect(limiter.tryLog()).toBe(true);
    for (let i = 0; i < 7; i++) expect(limiter.tryLog()).toBe(false);
    expect(limiter.dropped).toBe(7);
    // The window is still open: no warning yet.
    expect(limiter.takeDropped()).toBe(0);
    clock.advance(60_000);
    expect(limiter.takeDropped()).toBe(7);
    expect(limiter.takeDropped()).toBe(0); // exactly one warning
    expect(limiter.tryLog()).toBe(true);
  });

  it("counts drops per window and keeps unreported counts from earlier windows", () => {
    const clock = createFakeClock();
    const limiter = new LogLimiter({ limit: 1, windowMs: 1_000, now: clock.now });
    limiter.tryLog();
    limiter.tryLog();
    limiter.tryLog(); // 2 dropped in window 1
    clock.advance(1_000);
    expect(limiter.tryLog()).toBe(true);
    expect(limiter.tryLog()).toBe(false); // 1 dropped in window 2
    expect(limiter.takeDropped()).toBe(2);
    expect(limiter.flushDropped()).toBe(1);
    expect(limiter.flushDropped()).toBe(0);
  });

  it("two limiters share nothing", () => {
    const a = new LogLimiter({ limit: 1 });
    const b = new LogLimiter({ limit: 1 });
    expect(a.tryLog()).toBe(true);
    expect(a.tryLog()).toBe(false);
    expect(b.tryLog()).toBe(true);
  });

  it("rejects bad options naming the field", () => {
    expect(() => new LogLimiter({ limit: -5 })).toThrow(/^limit must be an integer >= 0/);
    expect(() => new LogLimiter({ windowMs: -1 })).toThrow(/^windowMs must be/);
    expect(() => new LogLimiter({ now: "x" as never })).toThrow(/^now must be/);
  });
});

describe("truncateLogMessage", () => {
  it("T35 a message over 4 KiB is cut to 4096 bytes ending ... [truncated], never mid-character", () => {
    const ascii = "a".repeat(5000);
    const out = truncateLogMessage(ascii);
    expect(out).toBe("a".repeat(4096) + TRUNCATION_SUFFIX);
    expect(out.endsWith("... [truncated]")).toBe(true);

    // 4095 ASCII bytes then a 3-byte € would end at 4098: the € must go entirely.
    const euro = "a".repeat(4095) + "€€";
    expect(truncateLogMessage(euro)).toBe("a".repeat(4095) + TRUNCATION_SUFFIX);
    // A 4-byte emoji straddling the limit is not split into a lone surrogate.
    const emoji = "a".repeat(4094) + "😀b";
    expect(truncateLogMessage(emoji)).toBe("a".repeat(4094) + TRUNCATION_SUFFIX);
    const twoByte = "é".repeat(3000); // 6000 bytes
    const cut = truncateLogMessage(twoByte);
    expect(cut).toBe("é".repeat(2048) + TRUNCATION_SUFFIX);
  });

  it("leaves messages of at most 4096 bytes untouched", () => {
    expect(truncateLogMessage("")).toBe("");
    expect(truncateLogMessage("a".repeat(4096))).toBe("a".repeat(4096));
    expect(truncateLogMessage("€".repeat(1365) + "a")).toBe("€".repeat(1365) + "a");
    expect(truncateLogMessage("😀".repeat(1024))).toBe("😀".repeat(1024));
  });

  it("lone surrogates do not crash it and count as 3 bytes", () => {
    const lone = "\ud800".repeat(2000);
    const out = truncateLogMessage(lone);
    expect(out).toBe("\ud800".repeat(1365) + TRUNCATION_SUFFIX);
    expect(bytes(out.slice(0, -TRUNCATION_SUFFIX.length))).toBeLessThanOrEqual(4096);
    expect(() => truncateLogMessage("\udc00a".repeat(3000))).not.toThrow();
  });

  it("rejects a non-string", () => {
    expect(() => truncateLogMessage(5 as unknown as string)).toThrow(TypeError);
  });

  it("property: output is valid UTF-8, at most 4096 bytes + suffix, and a prefix of the input", () => {
    const text = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 3000 }),
      fc.string({ unit: "binary", minLength: 1000, maxLength: 6000 }),
      fc.string({ unit: "grapheme-ascii", minLength: 4000, maxLength: 5000 }),
    );
    fc.assert(
      fc.property(text, (s) => {
        const out = truncateLogMessage(s);
        if (bytes(s) <= 4096) {
          expect(out).toBe(s);
          return;
        }
        expect(out.endsWith(TRUNCATION_SUFFIX)).toBe(true);
        const body = out.slice(0, -TRUNCATION_SUFFIX.length);
        expect(s.startsWith(body)).toBe(true);
        expect(bytes(body)).toBeLessThanOrEqual(4096);
        // Valid UTF-8: encodes and decodes back to itself (no lone surrogate created by the cut).
        const round = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(body, "utf8"));
        expect(round).toBe(body.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"));
        // Longest: the next character would not have fit.
        const next = s.codePointAt(body.length) ?? 0;
        const nextBytes = next < 0x80 ? 1 : next < 0x800 ? 2 : next < 0x10000 ? 3 : 4;
        expect(bytes(body) + nextBytes).toBeGreaterThan(4096);
      }),
      { numRuns: 500 },
    );
  });
});
