import { SandboxError } from "@clawft/sandbox-policy";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FORBIDDEN_HEADERS, checkHeaders, normalizeMethod, userAgentFor } from "./request-rules.js";

function refusal(fn: () => unknown): SandboxError {
  try {
    fn();
  } catch (error) {
    if (SandboxError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("normalizeMethod", () => {
  it("accepts the seven standard methods in any case and sends them upper case", () => {
    for (const m of ["GET", "head", "Post", "PUT", "patch", "DELETE", "options"]) {
      expect(normalizeMethod(m)).toBe(m.toUpperCase());
    }
  });

  it("refuses CONNECT, TRACE, made-up and non-string methods with HTTP_METHOD_NOT_ALLOWED", () => {
    for (const m of ["CONNECT", "trace", "TRACK", "GET ", "G\r\nET", "", 42, undefined]) {
      const e = refusal(() => normalizeMethod(m));
      expect(e.code).toBe("HTTP_METHOD_NOT_ALLOWED");
      expect(e.message.startsWith("method not allowed")).toBe(true);
    }
  });
});

describe("checkHeaders", () => {
  it("passes ordinary headers through in order, duplicates kept, as undici's flat array", () => {
    expect(
      checkHeaders([
        ["Accept", "application/json"],
        ["X-Tag", "a"],
        ["x-tag", "b"],
        ["Authorization", "Bearer t\u00e9"],
      ]),
    ).toEqual(["Accept", "application/json", "X-Tag", "a", "x-tag", "b", "Authorization", "Bearer t\u00e9"]);
    expect(checkHeaders(undefined)).toEqual([]);
  });

  it("refuses every forbidden header and any Proxy-* header, in any case", () => {
    const names = [...FORBIDDEN_HEADERS, "Proxy-Authorization", "PROXY-CONNECTION", "proxy-anything"];
    for (const name of names) {
      for (const spelled of [name, name.toUpperCase()]) {
        const e = refusal(() => checkHeaders([[spelled, "x"]]));
        expect(e.code).toBe("HTTP_BAD_HEADER");
        expect(e.message.startsWith("invalid request header")).toBe(true);
      }
    }
  });

  it("refuses CR, LF and NUL in values and names (header injection)", () => {
    for (const pair of [
      ["X-A", "v\r\nHost: evil.test"],
      ["X-A", "v\nX-B: 1"],
      ["X-A", "v\rX"],
      ["X-A", "v\0"],
      ["X-A\r\nHost", "evil.test"],
      ["X-A\0", "v"],
    ]) {
      expect(refusal(() => checkHeaders([pair])).code).toBe("HTTP_BAD_HEADER");
    }
  });

  it("refuses names that are not RFC 7230 tokens, empty names, characters above U+00FF and bad shapes", () => {
    for (const headers of [
      [["X A", "v"]],
      [["", "v"]],
      [["X:A", "v"]],
      [["X-\u00e9", "v"]],
      [["X-A", "\u20ac"]],
      [["X-A"]],
      [["X-A", 1]],
      "X-A: v",
      [null],
    ]) {
      expect(refusal(() => checkHeaders(headers)).code).toBe("HTTP_BAD_HEADER");
    }
  });

  it("refuses more than 100 headers", () => {
    const many = Array.from({ length: 101 }, (_, i) => [`x-${i}`, "v"] as const);
    expect(refusal(() => checkHeaders(many)).code).toBe("HTTP_BAD_HEADER");
  });

  it("property: a value with any control character other than tab is refused", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        fc.integer({ min: 0, max: 0x1f }).filter((c) => c !== 0x09),
        fc.string({ maxLength: 20 }),
        (a, c, b) => {
          expect(refusal(() => checkHeaders([["X-A", a + String.fromCharCode(c) + b]])).code).toBe("HTTP_BAD_HEADER");
        },
      ),
    );
  });
});

describe("userAgentFor", () => {
  it("is clawft-plugin/<id>/<version>", () => {
    expect(userAgentFor("com.example.weather", "1.2.3")).toBe("clawft-plugin/com.example.weather/1.2.3");
  });
});
