import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  MAX_PERMISSION_ENTRIES,
  MAX_PERMISSION_ENTRY_CHARS,
  normalizeFilesystemGrant,
} from "./grant-path.js";
import { diffPermissions, parseManifest, stripManifestBom } from "./manifest.js";
import { NetworkAllowlist } from "./allowlist.js";
import { SandboxError } from "./errors.js";
import { issuesOf, minimal } from "./test-helpers.js";

const withPermissions = (permissions: Record<string, unknown>) => ({ ...minimal, permissions });

describe("normalizeFilesystemGrant (T63)", () => {
  it("T63 the `..` trick (a cache folder that resolves to /) is refused at parse, naming the field", () => {
    const trick = `/home/alice/.local/share/weather-plugin/cache/${"c".repeat(200)}/../../../../../../../..`;
    const issues = issuesOf(withPermissions({ filesystem: ["/tmp/ok", "cache", trick] }));
    expect(issues).toEqual(['permissions.filesystem[2]: must not contain a ".." segment: write the folder it stands for']);
    expect(() => parseManifest(withPermissions({ filesystem: [trick] }))).toThrow(
      /^invalid plugin manifest: permissions\.filesystem\[0\]: must not contain a "\.\." segment/,
    );
  });

  it.each([
    ["..", '".." segment'],
    ["a/../b", '".." segment'],
    ["/a/./b", '"." segment'],
    [".", '"." segment'],
    ["./data", '"." segment'],
    ["a//b", "empty segment"],
    ["//etc", "empty segment"],
    ["a//", "empty segment"],
    ["", "must not be empty"],
    ["a\0b", "NUL"],
    ["cache\r/etc", "found \\r"],
    ["cache\n", "found \\n"],
    ["\u001b[2Kcache", "found \\x1b"],
    ["/home/\u202eetc", "found \\u202e"],
    ["/home/\u2066x", "found \\u2066"],
    ["/a\u2028b", "found \\u2028"],
    ["/a\u0085b", "found \\x85"],
    ["/a\ud800b", "found \\ud800"],
    ["a\\..\\b", "no backslash"],
  ])("T63 %j is refused (%s)", (entry, why) => {
    const result = normalizeFilesystemGrant(entry);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toContain(why);
    const issues = issuesOf(withPermissions({ filesystem: [entry] }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^permissions\.filesystem\[0\]: must /);
  });

  it("T63 a trailing slash is normalised away; / and plain paths are kept as written", () => {
    expect(normalizeFilesystemGrant("/data/")).toEqual({ ok: true, path: "/data" });
    expect(normalizeFilesystemGrant("cache/")).toEqual({ ok: true, path: "cache" });
    expect(normalizeFilesystemGrant("/")).toEqual({ ok: true, path: "/" });
    expect(normalizeFilesystemGrant("/home/alice/.cache/wx")).toEqual({ ok: true, path: "/home/alice/.cache/wx" });
    expect(normalizeFilesystemGrant("...")).toEqual({ ok: true, path: "..." });
    expect(normalizeFilesystemGrant("bücher/日本")).toEqual({ ok: true, path: "bücher/日本" });
    const m = parseManifest(withPermissions({ filesystem: ["/data/", "cache/"] }));
    expect(m.permissions.filesystem).toEqual(["/data", "cache"]);
  });

  it("T63 property: an accepted path has no '.', '..' or empty segment, and is a fixed point", () => {
    const segment = fc.oneof(
      fc.constantFrom("", ".", "..", "...", "a", "b.c", ".hidden", "x y", "\u202e", "\\", "\0", "日本"),
      fc.string({ maxLength: 6 }),
    );
    const path = fc
      .tuple(fc.boolean(), fc.array(segment, { maxLength: 8 }), fc.boolean())
      .map(([abs, segs, trailing]) => `${abs ? "/" : ""}${segs.join("/")}${trailing ? "/" : ""}`);
    fc.assert(
      fc.property(path, (p) => {
        const result = normalizeFilesystemGrant(p);
        if (!result.ok) return;
        const out = result.path;
        expect(out.length).toBeGreaterThan(0);
        if (out !== "/") {
          const segs = (out.startsWith("/") ? out.slice(1) : out).split("/");
          for (const s of segs) expect(["", ".", ".."]).not.toContain(s);
          expect(out.endsWith("/")).toBe(false);
        }
        expect(/[\0-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\\]/.test(out)).toBe(false);
        expect(normalizeFilesystemGrant(out)).toEqual({ ok: true, path: out });
      }),
      { numRuns: 5000 },
    );
  });

  it("T63 diffPermissions compares paths in normalised form", () => {
    expect(diffPermissions({ filesystem: ["/data/"] }, { filesystem: ["/data"] }).isEmpty).toBe(true);
    expect(diffPermissions({ filesystem: ["/data"] }, { filesystem: ["/data/x"] }).filesystem).toEqual(["/data/x"]);
    expect(diffPermissions({ filesystem: ["/data/../etc"] }, { filesystem: ["/etc"] }).filesystem).toEqual(["/etc"]);
  });
});

describe("permission values are bounded, never cut (T64)", () => {
  it(`T64 a filesystem entry over ${MAX_PERMISSION_ENTRY_CHARS} characters is refused at parse; one at the limit is kept whole`, () => {
    const atLimit = `/${"a".repeat(MAX_PERMISSION_ENTRY_CHARS - 1)}`;
    expect(parseManifest(withPermissions({ filesystem: [atLimit] })).permissions.filesystem).toEqual([atLimit]);
    expect(issuesOf(withPermissions({ filesystem: [`${atLimit}b`] }))).toEqual([
      `permissions.filesystem[0]: must be at most ${MAX_PERMISSION_ENTRY_CHARS} characters (a grant too long to show in full is refused)`,
    ]);
  });

  it("T64 an env var name too long to show, or with control characters, is refused at parse", () => {
    expect(issuesOf(withPermissions({ env_vars: ["K".repeat(MAX_PERMISSION_ENTRY_CHARS + 1)] }))[0]).toMatch(
      /^permissions\.env_vars\[0\]: must be at most 1024 characters/,
    );
    expect(issuesOf(withPermissions({ env_vars: ["API_KEY\u202e"] }))).toEqual([
      "permissions.env_vars[0]: must not contain control, line-separator or bidi characters (found \\u202e)",
    ]);
  });

  it(`T64 a permission list over ${MAX_PERMISSION_ENTRIES} entries is refused at parse`, () => {
    const many = Array.from({ length: MAX_PERMISSION_ENTRIES + 1 }, (_, i) => `/d${i}`);
    expect(issuesOf(withPermissions({ filesystem: many }))).toEqual([
      `permissions.filesystem: must have at most ${MAX_PERMISSION_ENTRIES} entries (each is shown in full at consent)`,
    ]);
    expect(parseManifest(withPermissions({ filesystem: many.slice(1) })).permissions.filesystem).toHaveLength(MAX_PERMISSION_ENTRIES);
    const hosts = Array.from({ length: MAX_PERMISSION_ENTRIES + 1 }, (_, i) => `h${i}.example.com`);
    expect(issuesOf(withPermissions({ network: hosts }))[0]).toMatch(/^permissions\.network: must have at most 64 entries/);
  });
});

describe("network entries with a port (T66: refused)", () => {
  it("T66 a manifest entry with a port is refused at parse with a message that says why", () => {
    expect(issuesOf(withPermissions({ network: ["ok.example.com", "api.example.com:8443", "[::1]:8080"] }))).toEqual([
      "permissions.network[1]: must not name a port: an allowed host is reachable on every port; list the host alone",
      "permissions.network[2]: must not name a port: an allowed host is reachable on every port; list the host alone",
    ]);
    expect(issuesOf(withPermissions({ network: ["api.example.com:99999"] }))).toEqual([
      'permissions.network[0]: must be a host name, "*.domain" or "*"',
    ]);
    // Bare IPv6 has colons but no port.
    expect(parseManifest(withPermissions({ network: ["::1", "[::1]", "2001:db8::1"] })).permissions.network).toHaveLength(3);
  });

  it("T66 NetworkAllowlist refuses an entry with a port (strict) and skips it (lenient): it never matches", () => {
    let error: unknown;
    try {
      new NetworkAllowlist(["api.example.com:8443"]);
    } catch (e) {
      error = e;
    }
    expect(SandboxError.isInstance(error)).toBe(true);
    expect((error as SandboxError).code).toBe("NETWORK_ENTRY_INVALID");
    expect((error as Error).message).toBe(
      'network[0] must not name a port: an allowed host is reachable on every port; list the host alone (got "api.example.com:8443")',
    );
    const lenient = new NetworkAllowlist(["api.example.com:8443", "ok.example.com"], { lenient: true });
    expect(lenient.entries).toEqual(["ok.example.com"]);
    expect(lenient.allows("api.example.com")).toBe(false);
    expect(lenient.allows("api.example.com:8443")).toBe(false);
    expect(lenient.allows("ok.example.com:8443")).toBe(true);
  });

  it("T66 the error message escapes control and bidi characters of the entry", () => {
    expect(() => new NetworkAllowlist(["evil\u202e.com\n"])).toThrow(/\(got "evil\\u202e\.com\\n"\)$/);
  });
});

describe("byte order mark (T67)", () => {
  it("T67 one leading BOM is stripped from manifest text; a second one is invalid JSON", () => {
    const text = JSON.stringify(minimal);
    expect(parseManifest(`\ufeff${text}`)).toEqual(parseManifest(text));
    expect(stripManifestBom(`\ufeff${text}`)).toBe(text);
    expect(stripManifestBom(text)).toBe(text);
    expect(issuesOf(`\ufeff\ufeff${text}`)[0]).toMatch(/^\(root\): invalid JSON: /);
    expect(issuesOf(`${text}\ufeff`)[0]).toMatch(/^\(root\): invalid JSON: /);
  });
});
