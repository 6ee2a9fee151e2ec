import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SandboxError } from "@clawft/sandbox-policy";
import {
  isUnder,
  isUnderBytes,
  isWritable,
  matchRoots,
  normalizeAbsolute,
  parseRequestPath,
  type Root,
} from "./resolve-path.js";

function root(real: string, given = real, readOnly = false): Root {
  return { given, real, realBytes: Buffer.from(real), readOnly };
}

/** A straightforward reference resolver: a stack of components, `..` pops (never above `/`). */
function referenceResolve(input: string, base: string): string {
  const full = input.startsWith("/") ? input : `${base}/${input}`;
  const stack: string[] = [];
  for (const seg of full.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") stack.pop();
    else stack.push(seg);
  }
  return `/${stack.join("/")}`;
}

const segment = fc.constantFrom("..", ".", "", "a", "b", "app", "app2", "data", "x y", "...", ".hidden", "APP");
const requestPath = fc
  .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 12 }), fc.boolean())
  .map(([absolute, segs, trailing]) => `${absolute ? "/data/app/" : ""}${segs.join("/")}${trailing ? "/" : ""}`)
  .filter((p) => p.length > 0);

describe("isUnder", () => {
  it("compares whole components", () => {
    expect(isUnder("/data/app", "/data/app")).toBe(true);
    expect(isUnder("/data/app/x", "/data/app")).toBe(true);
    expect(isUnder("/data/app2", "/data/app")).toBe(false);
    expect(isUnder("/data/ap", "/data/app")).toBe(false);
    expect(isUnder("/anything", "/")).toBe(true);
    expect(isUnderBytes(Buffer.from("/data/app2/x"), Buffer.from("/data/app"))).toBe(false);
    expect(isUnderBytes(Buffer.from("/data/app/x"), Buffer.from("/data/app"))).toBe(true);
    expect(isUnderBytes(Buffer.from("/data/app"), Buffer.from("/data/app"))).toBe(true);
    expect(isUnderBytes(Buffer.from("/x"), Buffer.from("/"))).toBe(true);
  });
});

describe("parseRequestPath", () => {
  it("collapses ., .., // and trailing slashes", () => {
    expect(parseRequestPath("a//b/./c/..", "/data/app")).toEqual({ abs: "/data/app/a/b", dirOnly: true });
    expect(parseRequestPath("../../../../etc/passwd", "/data/app")).toEqual({ abs: "/etc/passwd", dirOnly: false });
    expect(parseRequestPath("//etc//passwd", "/data/app")).toEqual({ abs: "/etc/passwd", dirOnly: false });
    expect(parseRequestPath("sub/", "/data/app")).toEqual({ abs: "/data/app/sub", dirOnly: true });
  });

  it("rejects non-strings, empty paths and NUL bytes with FS_INVALID_PATH", () => {
    for (const bad of [undefined, null, 1, {}, [], "", "a\0b"]) {
      let caught: unknown;
      try {
        parseRequestPath(bad, "/data/app");
      } catch (err) {
        caught = err;
      }
      expect(SandboxError.isInstance(caught)).toBe(true);
      expect((caught as SandboxError).code).toBe("FS_INVALID_PATH");
      expect((caught as SandboxError).message.startsWith("invalid path")).toBe(true);
    }
  });

  it("property: agrees with a reference stack resolver", () => {
    fc.assert(
      fc.property(requestPath, (p) => {
        expect(parseRequestPath(p, "/data/app").abs).toBe(referenceResolve(p, "/data/app"));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("matchRoots", () => {
  const roots = [root("/data/app")];

  it("property: random segments with .., . and // never resolve outside the root", () => {
    fc.assert(
      fc.property(requestPath, (p) => {
        const { abs } = parseRequestPath(p, "/data/app");
        const m = matchRoots(abs, roots);
        const ref = referenceResolve(p, "/data/app");
        const refInside = ref === "/data/app" || ref.startsWith("/data/app/");
        expect(m !== undefined).toBe(refInside);
        if (m) {
          expect(isUnder(m.path, "/data/app")).toBe(true);
          expect(m.path.split("/").slice(1)).not.toContain("..");
          expect(m.path.split("/").slice(1)).not.toContain(".");
          expect(m.path.split("/").slice(1)).not.toContain("");
          expect(m.rel === "." || !m.rel.startsWith("/")).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("property: arbitrary strings never map outside any root", () => {
    const multi = [root("/data/app"), root("/srv/ro", "/srv/ro", true), root("/real/x", "/given/x")];
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.boolean(), (s, absolute) => {
        const input = absolute ? `/${s}` : s;
        let abs: string;
        try {
          abs = parseRequestPath(input, "/data/app").abs;
        } catch {
          return;
        }
        const m = matchRoots(abs, multi);
        if (m) {
          expect(multi.some((r) => isUnder(m.path, r.real))).toBe(true);
          expect(isUnder(m.path, m.root.real)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("maps a root's configured spelling onto its real path", () => {
    const r = [root("/real/app", "/link/app")];
    expect(matchRoots("/link/app/a/b", r)?.path).toBe("/real/app/a/b");
    expect(matchRoots("/real/app", r)?.rel).toBe(".");
    expect(matchRoots("/link/app2", r)).toBeUndefined();
    expect(matchRoots("/link", r)).toBeUndefined();
  });

  it("picks the most specific root", () => {
    const r = [root("/data"), root("/data/app/ro", "/data/app/ro", true)];
    expect(matchRoots("/data/app/ro/x", r)?.root.readOnly).toBe(true);
    expect(matchRoots("/data/app/x", r)?.root.real).toBe("/data");
  });
});

describe("isWritable", () => {
  it("the most specific root decides; listed both ways means read-only", () => {
    const r = [
      root("/data"),
      root("/data/ro", "/data/ro", true),
      root("/opt/ro", "/opt/ro", true),
      root("/opt/ro/rw"),
      root("/both"),
      root("/both", "/both", true),
    ];
    expect(isWritable("/opt/ro/rw/x", r)).toBe(true);
    expect(isWritable("/opt/ro/rw2", r)).toBe(false);
    expect(isWritable("/both/x", r)).toBe(false);
    expect(isWritable("/data/x", r)).toBe(true);
    expect(isWritable("/data/ro/x", r)).toBe(false);
    expect(isWritable("/data/ro2/x", r)).toBe(true);
    expect(isWritable("/opt/ro/x", r)).toBe(false);
    expect(isWritable("/elsewhere", r)).toBe(false);
  });

  it("normalizeAbsolute keeps / and strips a trailing slash", () => {
    expect(normalizeAbsolute("/")).toBe("/");
    expect(normalizeAbsolute("/a/b/")).toBe("/a/b");
    expect(normalizeAbsolute("//a//..//b")).toBe("/b");
  });
});
