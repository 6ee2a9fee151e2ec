import { describe, expect, it } from "vitest";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { formatIPv6 } from "./allowlist.js";
import { isIpLiteral, isPrivateIp, parseIp, parseIPv6Strict } from "./ip.js";

const v4 = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
const hex16 = (n: number): string => n.toString(16);

describe("isPrivateIp — IPv4", () => {
  it.each([
    ["0.0.0.0"], ["0.255.255.255"], ["10.0.0.1"], ["10.255.255.255"], ["100.64.0.0"],
    ["100.127.255.255"], ["127.0.0.1"], ["127.255.255.254"], ["169.254.169.254"], ["169.254.0.1"],
    ["172.16.0.1"], ["172.31.255.255"], ["192.0.0.1"], ["192.0.0.9"], ["192.0.2.1"], ["192.88.99.1"],
    ["192.168.1.1"], ["198.18.0.1"], ["198.19.255.255"], ["198.51.100.7"], ["203.0.113.9"],
    ["224.0.0.1"], ["239.255.255.250"], ["240.0.0.1"], ["255.255.255.255"],
  ])("%s is private", (ip) => {
    expect(isPrivateIp(ip)).toBe(true);
  });

  it.each([
    ["1.1.1.1"], ["8.8.8.8"], ["9.255.255.255"], ["11.0.0.0"], ["100.63.255.255"], ["100.128.0.0"],
    ["126.255.255.255"], ["128.0.0.0"], ["169.253.255.255"], ["169.255.0.0"], ["172.15.255.255"],
    ["172.32.0.0"], ["192.0.1.0"], ["192.0.3.0"], ["192.88.98.255"], ["192.167.255.255"],
    ["192.169.0.0"], ["198.17.255.255"], ["198.20.0.0"], ["198.51.99.255"], ["203.0.112.255"],
    ["223.255.255.255"], ["93.184.215.14"],
  ])("%s is public", (ip) => {
    expect(isPrivateIp(ip)).toBe(false);
  });

  it.each([
    ["127.1"], ["0x7f.0.0.1"], ["0177.0.0.1"], ["010.0.0.1"], ["2130706433"], ["127.0.0.1."],
    ["127.0.0.1 "], [" 127.0.0.1"], ["256.0.0.1"], ["1.2.3"], ["1.2.3.4.5"], ["1..2.3"], [""],
    ["localhost"], ["example.com"], ["[127.0.0.1]"], ["127.0.0.1%eth0"], ["1.2.3.04"], ["١٢٧.0.0.1"],
  ])("%j is not a strict IP literal: TypeError", (s) => {
    expect(() => isPrivateIp(s)).toThrow(TypeError);
    expect(isIpLiteral(s)).toBe(false);
  });

  it("throws TypeError for non-strings", () => {
    expect(() => isPrivateIp(undefined as unknown as string)).toThrow(TypeError);
    expect(() => isPrivateIp(2130706433 as unknown as string)).toThrow(TypeError);
  });
});

describe("isPrivateIp — IPv6", () => {
  it.each([
    ["::"], ["::1"], ["0:0:0:0:0:0:0:1"], ["[::1]"], ["fe80::1"], ["febf::1"], ["fc00::1"],
    ["fd12:3456::1"], ["ff02::1"], ["fec0::1"], ["100::1"], ["::ffff:127.0.0.1"], ["::ffff:7f00:1"],
    ["::FFFF:10.0.0.1"], ["::ffff:a9fe:a9fe"], ["::127.0.0.1"], ["::8.8.8.8"], ["::ffff:0:8.8.8.8"],
    ["64:ff9b::127.0.0.1"], ["64:ff9b::a00:1"], ["64:ff9b:1::8.8.8.8"], ["2001::1"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2"], ["2001:2::1"], ["2001:10::1"], ["2001:1::1"],
    ["2001:db8::1"], ["2001:DB8:ffff::"], ["3fff::1"], ["3fff:fff::1"], ["2002:7f00:1::1"],
    ["2002:c0a8:101::"], ["2002:a9fe:a9fe::1"], ["1::"], ["4000::1"], ["5f00::1"], ["e000::"],
    ["fe80::1%eth0"], ["[fe80::1%25eth0]"], ["[fe80::1%eth0]"], ["2606:4700::1%1"],
  ])("%s is private", (ip) => {
    expect(isPrivateIp(ip)).toBe(true);
  });

  it.each([
    ["2606:4700:4700::1111"], ["2a00:1450:4001:80b::200e"], ["[2606:4700::1]"], ["::ffff:8.8.8.8"],
    ["::ffff:808:808"], ["64:ff9b::8.8.8.8"], ["64:ff9b::808:808"], ["2002:808:808::1"],
    ["2001:3::1"], ["2001:4:112::1"], ["2001:200::1"], ["2001:db9::1"], ["3fff:1000::1"],
    ["3ffe::1"], ["2000::1"],
  ])("%s is public", (ip) => {
    expect(isPrivateIp(ip)).toBe(false);
  });

  it.each([
    [":::"], ["1::2::3"], ["1:2:3:4:5:6:7:8:9"], ["1:2:3:4:5:6:7"], ["12345::"], ["::g"],
    ["::ffff:1.2.3"], ["::ffff:127.1"], ["::ffff:0x7f.0.0.1"], ["::ffff:127.0.0.01"], ["1:"],
    [":1"], ["[::1"], ["::1]"], ["[::1]:80"], ["fe80::1%"], ["fe80::1%eth 0"], ["fe80::1%a/b"],
    ["1.2.3.4::"], ["::1.2.3.4:1"],
  ])("%j is not an IP literal: TypeError", (s) => {
    expect(() => isPrivateIp(s)).toThrow(TypeError);
  });
});

describe("isPrivateIp — properties", () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });

  it("IPv4-mapped ::ffff:a.b.c.d and ::ffff:xxxx:xxxx are judged exactly as the IPv4", () => {
    fc.assert(
      fc.property(u32, (n) => {
        const dotted = v4(n);
        const expected = isPrivateIp(dotted);
        expect(isPrivateIp(`::ffff:${dotted}`)).toBe(expected);
        expect(isPrivateIp(`::ffff:${hex16(n >>> 16)}:${hex16(n & 0xffff)}`)).toBe(expected);
        expect(isPrivateIp(`0:0:0:0:0:ffff:${dotted}`)).toBe(expected);
        expect(isPrivateIp(`[::FFFF:${dotted}]`)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it("every other embedding of a private IPv4 (compatible, NAT64, 6to4, Teredo) is private", () => {
    fc.assert(
      fc.property(u32, fc.integer({ min: 0, max: 0xffff }), (n, port) => {
        const dotted = v4(n);
        const hi = hex16(n >>> 16);
        const lo = hex16(n & 0xffff);
        const x = (n ^ 0xffffffff) >>> 0;
        if (isPrivateIp(dotted)) {
          expect(isPrivateIp(`::${dotted}`)).toBe(true);
          expect(isPrivateIp(`64:ff9b::${dotted}`)).toBe(true);
          expect(isPrivateIp(`2002:${hi}:${lo}::1`)).toBe(true);
          expect(isPrivateIp(`2001:0:${hi}:${lo}:0:${hex16(port)}:${hex16(x >>> 16)}:${hex16(x & 0xffff)}`)).toBe(true);
        }
        // NAT64 and 6to4 of a public IPv4 are as public as the IPv4; compatible and Teredo never are.
        expect(isPrivateIp(`64:ff9b::${hi}:${lo}`)).toBe(isPrivateIp(dotted));
        expect(isPrivateIp(`2002:${hi}:${lo}::`)).toBe(isPrivateIp(dotted));
        expect(isPrivateIp(`::${hi}:${lo}`)).toBe(true);
        expect(isPrivateIp(`2001::${hi}:${lo}`)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with ipaddr.js on which IPv4 ranges are special (ipaddr.js as an independent oracle)", () => {
    fc.assert(
      fc.property(u32, (n) => {
        const dotted = v4(n);
        const range = ipaddr.IPv4.parse(dotted).range();
        // ipaddr.js calls as112 / amt ranges out but they are globally reachable.
        const oraclePrivate = !["unicast", "as112", "amt"].includes(range);
        expect(isPrivateIp(dotted)).toBe(oraclePrivate);
      }),
      { numRuns: 5000 },
    );
  });

  it("every IPv6 outside 2000::/3 is private, except mapped / NAT64 judged by their IPv4", () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (g) => {
        const text = g.map(hex16).join(":");
        const first = g[0] ?? 0;
        const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
        const nat64 = first === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
        if ((first & 0xe000) !== 0x2000 && !mapped && !nat64) expect(isPrivateIp(text)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("parses every IPv6 text form the same way as ipaddr.js does (compressed, full, mixed)", () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.boolean(), (g, upper) => {
        const addr = new ipaddr.IPv6(g);
        for (let text of [addr.toRFC5952String(), addr.toNormalizedString(), g.map(hex16).join(":")]) {
          if (upper) text = text.toUpperCase();
          expect(parseIPv6Strict(text)).toEqual(g);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with the WHATWG URL parser (and ipaddr.js for IPv4) on random near-IP strings", () => {
    const piece = fc.constantFrom("0", "1", "9", "10", "127", "255", "256", "01", "a", "f", "ffff", "fffff", "g", ":", "::", ".", "x");
    const octet = fc.constantFrom("0", "1", "01", "00", "9", "10", "99", "127", "255", "256", "0x7f", "1e2", "");
    const dotted = fc.array(octet, { minLength: 2, maxLength: 5 }).map((a) => a.join("."));
    const nearIp = fc.oneof(
      fc.array(piece, { minLength: 1, maxLength: 12 }).map((a) => a.join("")),
      dotted,
      fc.tuple(fc.array(piece, { maxLength: 6 }), dotted).map(([a, d]) => `${a.join("")}:${d}`),
      dotted.map((d) => `::ffff:${d}`),
    );
    const whatwg = (s: string): string | undefined => {
      try {
        return new URL(`http://${s}/`).hostname;
      } catch {
        return undefined;
      }
    };
    fc.assert(
      fc.property(nearIp, (s) => {
        const parsed = parseIp(s);
        if (parsed?.kind === 4) {
          expect(ipaddr.IPv4.parse(s).toByteArray()).toEqual([parsed.v4 >>> 24, (parsed.v4 >>> 16) & 255, (parsed.v4 >>> 8) & 255, parsed.v4 & 255]);
          expect(whatwg(s)).toBe(s);
        }
        if (parsed?.kind === 6) expect(whatwg(`[${s}]`)).toBe(`[${formatIPv6(parsed.groups)}]`);
        // Conversely, what WHATWG reads as canonical IPv4, or as IPv6, we read the same way.
        if (whatwg(s) === s && ipaddr.IPv4.isValidFourPartDecimal(s)) expect(parsed?.kind).toBe(4);
        const six = whatwg(`[${s}]`);
        if (six !== undefined) {
          expect(parsed?.kind).toBe(6);
          if (parsed?.kind === 6) expect(six).toBe(`[${formatIPv6(parsed.groups)}]`);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it("never throws anything but TypeError on random strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        try {
          const r = isPrivateIp(s);
          expect(typeof r).toBe("boolean");
        } catch (e) {
          expect(e).toBeInstanceOf(TypeError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
