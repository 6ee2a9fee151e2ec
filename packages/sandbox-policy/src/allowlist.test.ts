import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { entriesAllow, NetworkAllowlist, normalizeHost } from "./allowlist.js";
import { SandboxError } from "./errors.js";

describe("NetworkAllowlist — construction", () => {
  it.each([
    ["*example.com"], ["example.*"], ["exa mple.com"], [" example.com"], ["example.com "], [""],
    ["*."], ["*"+"*"], ["*.*.example.com"], ["a.*.example.com"], ["http://example.com"],
    ["example.com/path"], ["user@example.com"], ["exa%41mple.com"], ["example..com"],
    ["example.com.."], ["-bad.com"], ["bad-.com"], ["example.com:"], ["example.com:99999"],
    ["example.com:80:80"], ["[::1"], ["[::1]x"], ["[example.com]"], ["*.1.2.3"], ["1.2.3.4.5"],
    ["exa\u0000mple.com"], ["a\\b.com"], ["*.[::1]"],
  ])("rejects %j naming the entry", (entry) => {
    let caught: unknown;
    try {
      new NetworkAllowlist(["ok.example", entry]);
    } catch (e) {
      caught = e;
    }
    expect(SandboxError.isInstance(caught)).toBe(true);
    const err = caught as SandboxError;
    expect(err.code).toBe("NETWORK_ENTRY_INVALID");
    expect(err.message.startsWith('network[1] must be a host name, "*.domain" or "*"')).toBe(true);
  });

  it("rejects non-string entries and a non-array, and names a custom field", () => {
    expect(() => new NetworkAllowlist([42 as unknown as string])).toThrow(/network\[0\] must be/);
    expect(() => new NetworkAllowlist("example.com" as unknown as string[])).toThrow(TypeError);
    expect(() => new NetworkAllowlist(["a.com", "x y"], { field: "permissions.network" })).toThrow(
      /^permissions\.network\[1\] must be a host name/,
    );
  });

  it("lenient mode skips malformed entries and keeps the rest", () => {
    const list = new NetworkAllowlist(["bad entry", "good.example", "*bad"], { lenient: true });
    expect(list.entries).toEqual(["good.example"]);
    expect(list.allows("good.example")).toBe(true);
    expect(list.allows("bad entry")).toBe(false);
  });

  it("accepts names, IP literals, a trailing dot, wildcards and *", () => {
    expect(
      () =>
        new NetworkAllowlist([
          "example.com", "EXAMPLE.COM.", "*.example.org", "*", "10.0.0.1",
          "[::1]", "::1", "bücher.de", "xn--bcher-kva.de", "a_b.example", "localhost",
        ]),
    ).not.toThrow();
  });

  it("T66 refuses an entry with a port (every port of a listed host is reachable)", () => {
    for (const entry of ["api.example.com:8443", "[::1]:8080", "10.0.0.1:80", "*.example.org:443"]) {
      expect(() => new NetworkAllowlist([entry])).toThrow(SandboxError);
    }
  });
});

describe("NetworkAllowlist — matching", () => {
  it("exact hosts are case-insensitive, ignore one trailing dot (entries and hosts alike) and a host's port", () => {
    const list = new NetworkAllowlist(["Example.COM.", "api.test"]);
    for (const h of ["example.com", "EXAMPLE.com", "example.com.", "example.com:80", "example.com.:443"]) {
      expect(list.allows(h)).toBe(true);
    }
    expect(list.allows("api.test")).toBe(true);
    expect(list.allows("example.com..")).toBe(false);
    expect(list.allows("www.example.com")).toBe(false);
    expect(list.allows("example.co")).toBe(false);
    expect(list.allows("example.com.evil.net")).toBe(false);
  });

  it("T12 *.example.com matches subdomains at any depth", () => {
    const list = new NetworkAllowlist(["*.example.com"]);
    expect(list.allows("sub.example.com")).toBe(true);
    expect(list.allows("a.b.example.com")).toBe(true);
    expect(list.allows("SUB.Example.Com.")).toBe(true);
  });

  it("T13 *.example.com does not match the apex or look-alikes", () => {
    const list = new NetworkAllowlist(["*.example.com"]);
    expect(list.allows("example.com")).toBe(false);
    expect(list.allows("badexample.com")).toBe(false);
    expect(list.allows(".example.com")).toBe(false);
    expect(list.allows("sub.example.com.evil.net")).toBe(false);
    expect(list.allows("example.com.")).toBe(false);
  });

  it("invalid punycode is treated exactly as this Node's URL parser treats it", () => {
    // Node 20 refuses `xn--a.example` in URLs; newer Node versions (newer ada) accept it as ASCII.
    let urlHost: string | undefined;
    try {
      urlHost = new URL("http://xn--a.example/").hostname;
    } catch {
      urlHost = undefined;
    }
    if (urlHost === undefined) {
      expect(() => new NetworkAllowlist(["xn--a.example"])).toThrow(/network\[0\] must be/);
      expect(new NetworkAllowlist(["*"]).allows("xn--a.example")).toBe(false);
    } else {
      const list = new NetworkAllowlist(["xn--a.example"]);
      expect(list.allows(urlHost)).toBe(true);
      expect(list.allows("a.example")).toBe(false);
    }
  });

  it("IDN hosts compare in punycode form", () => {
    const list = new NetworkAllowlist(["bücher.de"]);
    expect(list.allows("xn--bcher-kva.de")).toBe(true);
    expect(list.allows("BÜCHER.de")).toBe(true);
    expect(list.allows("bucher.de")).toBe(false);
    const puny = new NetworkAllowlist(["*.xn--bcher-kva.de"]);
    expect(puny.allows("shop.bücher.de")).toBe(true);
  });

  it("IP entries match every spelling of the same address", () => {
    const list = new NetworkAllowlist(["127.0.0.1", "[0:0:0:0:0:0:0:1]", "2001:DB8::1"]);
    for (const h of ["127.0.0.1", "127.1", "0x7f.0.0.1", "2130706433", "::1", "[::1]", "[::1]:8080", "2001:db8:0::1"]) {
      expect(list.allows(h)).toBe(true);
    }
    expect(list.allows("127.0.0.2")).toBe(false);
    expect(list.allows("::2")).toBe(false);
  });

  it("* allows every well-formed host but never a malformed one or ''", () => {
    const list = new NetworkAllowlist(["*"]);
    expect(list.allows("anything.example")).toBe(true);
    expect(list.allows("8.8.8.8")).toBe(true);
    expect(list.allows("")).toBe(false);
    expect(list.allows("a b")).toBe(false);
    expect(list.allows("evil.com\\@good.com")).toBe(false);
    expect(list.allows("*")).toBe(false);
  });

  it("an empty list allows nothing and allows('') is always false", () => {
    const empty = new NetworkAllowlist([]);
    expect(empty.size).toBe(0);
    expect(empty.allows("example.com")).toBe(false);
    expect(new NetworkAllowlist(["example.com"]).allows("")).toBe(false);
  });

  it("object-prototype names are not magically listed", () => {
    const list = new NetworkAllowlist(["example.com"]);
    for (const h of ["__proto__", "constructor", "hasownproperty", "tostring"]) expect(list.allows(h)).toBe(false);
  });

  it("property: a host is allowed by an exact entry iff it is that host (after case/dot normalisation)", () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/).filter((l) => !l.startsWith("xn--"));
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => [...l, "test"].join("."));
    fc.assert(
      fc.property(name, name, fc.boolean(), (entry, host, dot) => {
        const list = new NetworkAllowlist([entry.toUpperCase()]);
        expect(list.allows(host + (dot ? "." : ""))).toBe(host === entry);
        const wild = new NetworkAllowlist([`*.${entry}`]);
        expect(wild.allows(host)).toBe(host.endsWith(`.${entry}`));
      }),
      { numRuns: 1000 },
    );
  });

  it("two lists built from the same array share nothing", () => {
    const entries = ["a.example"];
    const one = new NetworkAllowlist(entries);
    entries.push("b.example");
    const two = new NetworkAllowlist(entries);
    expect(one.allows("b.example")).toBe(false);
    expect(two.allows("b.example")).toBe(true);
    expect(Object.isFrozen(one.entries)).toBe(true);
  });

  it("property: whenever a host normalises, it normalises to what the WHATWG URL parser makes of it", () => {
    const ch = fc.constantFrom(..."abcxyzAZ0179-_.:[]ü*%".split(""), "xn--", "0x", "::", "é");
    fc.assert(
      fc.property(fc.array(ch, { minLength: 1, maxLength: 16 }).map((a) => a.join("")), (s) => {
        const n = normalizeHost(s);
        if (!n || (n.kind !== "name" && n.kind !== "ip")) return;
        // Bare IPv6 (no brackets) is accepted by normalizeHost; a URL needs the brackets.
        const bareV6 = !s.startsWith("[") && s.split(":").length > 2;
        const url = new URL(bareV6 ? `http://[${s}]/` : `http://${s}/`);
        let host = url.hostname;
        if (host.startsWith("[")) host = host.slice(1, -1);
        if (host.endsWith(".")) host = host.slice(0, -1);
        const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
        if (mapped) {
          const hi = parseInt(mapped[1] ?? "0", 16);
          const lo = parseInt(mapped[2] ?? "0", 16);
          host = `${hi >>> 8}.${hi & 255}.${lo >>> 8}.${lo & 255}`;
        }
        expect(n.host).toBe(host);
      }),
      { numRuns: 5000 },
    );
  });

  it("property: entriesAllow (checkUrl's path for a string[]) answers exactly like NetworkAllowlist.allows", () => {
    const part = fc.constantFrom("a", "b", "example", "com", "EXAMPLE", "xn--bcher-kva", "bücher", "127", "0x7f", "1", "0");
    const name = fc.array(part, { minLength: 1, maxLength: 4 }).map((p) => p.join("."));
    const decorated = fc.tuple(name, fc.constantFrom("", ".", ":8080", ".:443", ".."), fc.constantFrom("", "*.", "*")).map(
      ([n, suffix, prefix]) => `${prefix}${n}${suffix}`,
    );
    const entry = fc.oneof(decorated, fc.constantFrom("*", "[::1]", "::ffff:7f00:1", "bad entry", "", "[::1]:80"));
    const host = fc.oneof(decorated, fc.constantFrom("::1", "[::1]", "127.0.0.1", "__proto__", ""));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), host, (entries, h) => {
        expect(entriesAllow(entries, h)).toBe(new NetworkAllowlist(entries, { lenient: true }).allows(h));
      }),
      { numRuns: 5000 },
    );
  });
});
