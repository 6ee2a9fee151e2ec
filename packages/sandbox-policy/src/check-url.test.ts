import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { NetworkAllowlist } from "./allowlist.js";
import { checkUrl, redactUrl, type CheckUrlCode } from "./check-url.js";
import { isPrivateIp } from "./ip.js";

function expectRefused(url: string | URL, network: readonly string[] | NetworkAllowlist, code: CheckUrlCode, text: string): void {
  const r = checkUrl(url, network);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.code).toBe(code);
  expect(r.message.startsWith(text)).toBe(true);
}

const v4 = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

describe("checkUrl — catalogue", () => {
  it("T01 a listed host passes (pure part: the URL passes checkUrl)", () => {
    const r = checkUrl("https://api.example.com/v1?q=1", ["api.example.com"]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.host).toBe("api.example.com");
    expect(r.url).toBeInstanceOf(URL);
    expect(r.url.href).toBe("https://api.example.com/v1?q=1");
    expect(r.isIp).toBe(false);
  });

  it("T02 a host that is not listed is refused", () => {
    expectRefused("https://evil.example/", ["api.example.com"], "HOST_NOT_ALLOWED", "host not in network allowlist");
  });

  it("T03 a file:// URL is refused", () => {
    expectRefused("file:///etc/passwd", ["*"], "SCHEME_NOT_ALLOWED", "scheme not allowed: file");
  });

  it("T04 a data: URL is refused", () => {
    expectRefused("data:text/plain,hello", ["*"], "SCHEME_NOT_ALLOWED", "scheme not allowed: data");
  });

  it("T05 http://127.0.0.1/ is refused even when listed", () => {
    for (const network of [["127.0.0.1"], ["*"], ["example.com"]]) {
      expectRefused("http://127.0.0.1/", network, "PRIVATE_IP", "request to private/reserved IP denied");
    }
    for (const url of ["http://127.1/", "http://0/", "http://0x7f000001/", "http://127.000.000.001/", "HTTP://127.0.0.1:80/", "http://127.0.0.1%2e/"]) {
      expectRefused(url, ["*"], "PRIVATE_IP", "request to private/reserved IP denied");
    }
  });

  it("T06 http://[::ffff:127.0.0.1]/ is refused: IPv4-mapped IPv6 is judged as its IPv4", () => {
    for (const url of ["http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:127.0.0.1]:8080/"]) {
      expectRefused(url, ["*"], "PRIVATE_IP", "request to private/reserved IP denied");
    }
  });

  it("T07 the cloud metadata address 169.254.169.254 is refused in every spelling", () => {
    for (const url of [
      "http://169.254.169.254/latest/meta-data/", "http://2852039166/", "http://0xa9.0xfe.0xa9.0xfe/",
      "http://0251.0376.0251.0376/", "http://169.254.43518/", "http://[::ffff:a9fe:a9fe]/",
      "http://user:pass@169.254.169.254/", "http://169.254.169.254./",
    ]) {
      expectRefused(url, ["*", "169.254.169.254"], "PRIVATE_IP", "request to private/reserved IP denied");
    }
  });

  it("T08 http://10.0.0.1/ is refused", () => {
    expectRefused("http://10.0.0.1/", ["10.0.0.1"], "PRIVATE_IP", "request to private/reserved IP denied");
  });

  it("T09 an empty network list refuses everything", () => {
    for (const url of ["https://example.com/", "http://8.8.8.8/", "http://127.0.0.1/"]) {
      expectRefused(url, [], "NETWORK_NOT_PERMITTED", "network access not permitted");
      expectRefused(url, new NetworkAllowlist([]), "NETWORK_NOT_PERMITTED", "network access not permitted");
    }
  });

  it("T12 *.example.com allows sub.example.com", () => {
    const r = checkUrl("https://sub.example.com/x", ["*.example.com"]);
    expect(r.ok).toBe(true);
  });

  it("T13 *.example.com refuses example.com", () => {
    expectRefused("https://example.com/", ["*.example.com"], "HOST_NOT_ALLOWED", "host not in network allowlist");
  });
});

describe("checkUrl — order and edge cases", () => {
  it("invalid URLs are INVALID_URL and never throw", () => {
    for (const url of ["", "not a url", "http://", "http://[::1", "http://1.2.3.4.5/", "http://[fe80::1%25eth0]/", "http://exa mple.com/"]) {
      expectRefused(url, ["*"], "INVALID_URL", "invalid url");
    }
    expectRefused(42 as unknown as string, ["*"], "INVALID_URL", "invalid url");
    expectRefused({ href: 5 } as unknown as URL, ["*"], "INVALID_URL", "invalid url");
  });

  it("checks the scheme before the network list, and the list before the private IP", () => {
    expectRefused("ftp://example.com/", [], "SCHEME_NOT_ALLOWED", "scheme not allowed: ftp");
    expectRefused("javascript:alert(1)", [], "SCHEME_NOT_ALLOWED", "scheme not allowed: javascript");
    expectRefused("ws://example.com/", ["*"], "SCHEME_NOT_ALLOWED", "scheme not allowed: ws");
    expectRefused("http://127.0.0.1/", [], "NETWORK_NOT_PERMITTED", "network access not permitted");
    expectRefused("http://127.0.0.1/", ["example.com"], "PRIVATE_IP", "request to private/reserved IP denied");
  });

  it("upper-case schemes and hosts are normalised", () => {
    const r = checkUrl("HTTPS://API.EXAMPLE.COM/", ["api.example.com"]);
    expect(r.ok && r.host).toBe("api.example.com");
  });

  it("userinfo cannot smuggle a host either way", () => {
    expectRefused("http://api.example.com@127.0.0.1/", ["api.example.com"], "PRIVATE_IP", "request to private");
    expectRefused("http://api.example.com@evil.example/", ["api.example.com"], "HOST_NOT_ALLOWED", "host not in");
    expectRefused("http://api.example.com:pw@evil.example/", ["api.example.com"], "HOST_NOT_ALLOWED", "host not in");
    const r = checkUrl("http://evil.example@api.example.com/", ["api.example.com"]);
    expect(r.ok && r.host).toBe("api.example.com");
    expectRefused("http://evil.example\\@api.example.com/", ["api.example.com"], "HOST_NOT_ALLOWED", "host not in");
  });

  it("trailing dots, ports and IDN spellings match the allowlist as the same host", () => {
    expect(checkUrl("http://api.example.com.:8080/", ["api.example.com"]).ok).toBe(true);
    expect(checkUrl("http://BÜCHER.de/", ["xn--bcher-kva.de"]).ok).toBe(true);
    expect(checkUrl("http://xn--bcher-kva.de/", ["bücher.de"]).ok).toBe(true);
    expect(checkUrl("http://exa%6dple.com/", ["example.com"]).ok).toBe(true);
  });

  it("127.0.0.1.nip.io is a name: allowed only when listed", () => {
    expectRefused("http://127.0.0.1.nip.io/", ["example.com"], "HOST_NOT_ALLOWED", "host not in network allowlist");
    const r = checkUrl("http://127.0.0.1.nip.io/", ["127.0.0.1.nip.io"]);
    expect(r.ok).toBe(true);
    expect(r.ok && r.isIp).toBe(false);
  });

  it("every private range is refused with * (including IPv6 forms)", () => {
    for (const host of [
      "0.0.0.0", "100.64.1.1", "172.16.5.4", "192.168.0.1", "192.0.0.1", "198.18.0.1", "224.0.0.1",
      "255.255.255.255", "[::]", "[::1]", "[fe80::1]", "[fd00::1]", "[ff02::1]", "[2001:db8::1]",
      "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[2001::1]", "[::127.0.0.1]", "[3fff::1]",
    ]) {
      expectRefused(`http://${host}/`, ["*"], "PRIVATE_IP", "request to private/reserved IP denied");
    }
  });

  it("public IP literals pass only when listed (or *) and report isIp", () => {
    expectRefused("http://8.8.8.8/", ["dns.google"], "HOST_NOT_ALLOWED", "host not in network allowlist");
    const r = checkUrl("http://8.8.8.8/", ["8.8.8.8"]);
    expect(r.ok && r.isIp && r.host).toBe("8.8.8.8");
    const six = checkUrl("http://[2606:4700:4700::1111]/", ["*"]);
    expect(six.ok && six.host).toBe("2606:4700:4700::1111");
  });

  it("a malformed entry matches nothing and the rest of the list still applies", () => {
    expect(checkUrl("https://good.example/", ["bad entry", "*bad", "good.example"]).ok).toBe(true);
    expectRefused("https://bad entry/", ["bad entry"], "INVALID_URL", "invalid url");
    expectRefused("https://x.example/", ["*x.example"], "HOST_NOT_ALLOWED", "host not in network allowlist");
    expectRefused("https://x.example/", [42 as unknown as string], "HOST_NOT_ALLOWED", "host not in");
    expectRefused("https://x.example/", undefined as unknown as string[], "NETWORK_NOT_PERMITTED", "network access");
  });

  it("recognises a NetworkAllowlist by its brand (as from another installed copy), not by instanceof", () => {
    const list = new NetworkAllowlist(["example.com"]);
    // What an instance from another copy of the package looks like: same brand, other class.
    const foreign = Object.create(null) as Record<PropertyKey, unknown>;
    foreign[Symbol.for("clawft.NetworkAllowlist")] = true;
    foreign.size = 1;
    foreign.allows = (h: string) => list.allows(h);
    expect(foreign instanceof NetworkAllowlist).toBe(false);
    expect(NetworkAllowlist.isInstance(foreign)).toBe(true);
    expect(checkUrl("https://example.com/", foreign as unknown as NetworkAllowlist).ok).toBe(true);
    expect(NetworkAllowlist.isInstance({ allows: () => true })).toBe(false);
    expectRefused("https://example.com/", { allows: () => true, size: 1 } as unknown as NetworkAllowlist, "NETWORK_NOT_PERMITTED", "network access");
  });

  it("accepts a URL object and a prebuilt NetworkAllowlist", () => {
    const list = new NetworkAllowlist(["example.com"]);
    expect(checkUrl(new URL("https://example.com/a"), list).ok).toBe(true);
    expectRefused("https://other.com/", list, "HOST_NOT_ALLOWED", "host not in network allowlist");
  });
});

describe("checkUrl — properties", () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });

  it("every spelling of an IPv4 (dotted, integer, hex, octal, short, IPv6-wrapped) gets the same verdict", () => {
    fc.assert(
      fc.property(u32, (n) => {
        const a = n >>> 24;
        const b = (n >>> 16) & 255;
        const c = (n >>> 8) & 255;
        const d = n & 255;
        const spellings = [
          v4(n),
          String(n),
          `0x${n.toString(16)}`,
          [a, b, c, d].map((x) => `0x${x.toString(16)}`).join("."),
          [a, b, c, d].map((x) => `0${x.toString(8)}`).join("."),
          `${a}.${(n & 0xffffff) >>> 0}`,
          `${a}.${b}.${(n & 0xffff) >>> 0}`,
          `[::ffff:${v4(n)}]`,
          `[::ffff:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}]`,
          `[0:0:0:0:0:FFFF:${v4(n)}]`,
        ];
        const expected: CheckUrlCode | "ok" = isPrivateIp(v4(n)) ? "PRIVATE_IP" : "ok";
        for (const s of spellings) {
          for (const network of [["*"], [v4(n)]]) {
            const r = checkUrl(`http://${s}/`, network);
            expect(r.ok ? "ok" : r.code, `${s} with ${network[0]}`).toBe(expected);
          }
          const unlisted = checkUrl(`http://user@${s}:8080/`, ["example.com"]);
          expect(unlisted.ok ? "ok" : unlisted.code).toBe(expected === "ok" ? "HOST_NOT_ALLOWED" : "PRIVATE_IP");
        }
      }),
      { numRuns: 1500 },
    );
  });

  it("private addresses drawn from the special ranges are refused in every spelling", () => {
    const ranges: [number, number][] = [
      [0x7f000000, 8], [0x0a000000, 8], [0xac100000, 12], [0xc0a80000, 16], [0xa9fe0000, 16],
      [0x64400000, 10], [0x00000000, 8], [0xe0000000, 4], [0xf0000000, 4], [0xc6120000, 15],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...ranges), u32, ([base, bits], r) => {
        const n = (base + (r % 2 ** (32 - bits))) >>> 0;
        for (const s of [v4(n), String(n), `0x${n.toString(16)}`, `[::ffff:${v4(n)}]`]) {
          const res = checkUrl(`https://${s}/`, ["*"]);
          expect(res.ok ? "ok" : res.code).toBe("PRIVATE_IP");
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("never throws on random input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }), (s, net) => {
        const r = checkUrl(`http://${s}`, net);
        expect(typeof r.ok).toBe("boolean");
        const r2 = checkUrl(s, net);
        expect(typeof r2.ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("redactUrl", () => {
  it("redacts userinfo and query values, drops the fragment", () => {
    expect(redactUrl("https://user:secret@api.example.com:8443/v1/x?key=sk-123&a=b&flag#frag")).toBe(
      "https://***@api.example.com:8443/v1/x?key=***&a=***&***",
    );
    expect(redactUrl("http://example.com/")).toBe("http://example.com/");
    expect(redactUrl(new URL("http://EXAMPLE.com/p?x="))).toBe("http://example.com/p?x=***");
  });

  it("handles URLs without a host and non-URLs", () => {
    expect(redactUrl("data:text/plain,secret")).toBe("data:***");
    expect(redactUrl("file:///etc/passwd")).toBe("file:///etc/passwd");
    expect(redactUrl("not a url")).toBe("(invalid url)");
  });

  it("never contains a query value or password (property)", () => {
    const token = fc.stringMatching(/^[A-Za-z0-9]{12,20}$/);
    fc.assert(
      fc.property(token, token, (secret, pw) => {
        const out = redactUrl(`https://u:${pw}@h.example/p?t=${secret}`);
        expect(out.includes(secret)).toBe(false);
        expect(out.includes(pw)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("caps very long URLs", () => {
    expect(redactUrl(`https://h.example/${"a".repeat(5000)}`).length).toBeLessThanOrEqual(2051);
  });
});
