import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CidrList } from "./cidr.js";

/*
 * A reference model on BigInt, independent of the implementation: an IPv4
 * address is a 32-bit number, an IPv6 address a 128-bit one; a range contains
 * an address when both agree on the first `prefix` bits. IPv4-mapped
 * addresses (::ffff:0:0/96) are judged as their IPv4, and an IPv6 range only
 * covers them when it is written in mapped form (prefix >= 96).
 */
const MAPPED = 0xffffn << 32n;
const MAPPED_MASK = ((1n << 96n) - 1n) << 32n;

type Addr = { kind: 4; n: bigint } | { kind: 6; n: bigint };

function toV4Text(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join(".");
}

function toV6Full(n: bigint): string {
  const groups: string[] = [];
  for (let i = 7n; i >= 0n; i--) groups.push(((n >> (i * 16n)) & 0xffffn).toString(16));
  return groups.join(":");
}

/** The compressed form, as the WHATWG URL parser prints it (`::ffff:a01:203`). */
function toV6Compressed(n: bigint): string {
  return new URL(`http://[${toV6Full(n)}]/`).hostname.slice(1, -1);
}

/** What a connection to `a` reaches: IPv4-mapped IPv6 is its IPv4. */
function destination(a: Addr): Addr {
  if (a.kind === 6 && (a.n & MAPPED_MASK) === MAPPED) return { kind: 4, n: a.n & 0xffffffffn };
  return a;
}

function refContains(range: Addr & { prefix: number }, address: Addr): boolean {
  let r: Addr & { prefix: number } = range;
  if (r.kind === 6 && r.prefix >= 96 && (r.n & MAPPED_MASK) === MAPPED) {
    r = { kind: 4, n: r.n & 0xffffffffn, prefix: r.prefix - 96 };
  }
  const a = destination(address);
  if (a.kind !== r.kind) return false;
  const bits = BigInt(r.kind === 4 ? 32 : 128);
  const shift = bits - BigInt(r.prefix);
  return a.n >> shift === r.n >> shift;
}

const v4n = fc.bigInt({ min: 0n, max: 0xffffffffn });
const v6n = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });

/** Addresses of every family, biased towards neighbours of `near` so that hits are common. */
function addressNear(near: Addr & { prefix: number }): fc.Arbitrary<Addr> {
  const bits = near.kind === 4 ? 32n : 128n;
  const flipLow = fc.bigInt({ min: 0n, max: (1n << (bits - BigInt(near.prefix))) - 1n }).map((low): Addr => {
    const keep = ~((1n << (bits - BigInt(near.prefix))) - 1n) & ((1n << bits) - 1n);
    return { kind: near.kind, n: (near.n & keep) | low };
  });
  return fc.oneof(
    flipLow,
    v4n.map((n): Addr => ({ kind: 4, n })),
    v6n.map((n): Addr => ({ kind: 6, n })),
    v4n.map((n): Addr => ({ kind: 6, n: MAPPED | n })),
  );
}

const range: fc.Arbitrary<Addr & { prefix: number }> = fc.oneof(
  fc.tuple(v4n, fc.integer({ min: 0, max: 32 })).map(([n, prefix]) => ({ kind: 4 as const, n, prefix })),
  fc.tuple(v6n, fc.integer({ min: 0, max: 128 })).map(([n, prefix]) => ({ kind: 6 as const, n, prefix })),
  // Ranges written in IPv4-mapped form.
  fc.tuple(v4n, fc.integer({ min: 96, max: 128 })).map(([n, prefix]) => ({ kind: 6 as const, n: MAPPED | n, prefix })),
  // IPv6 ranges that contain the whole mapped block (::/0 … ::/80) or overlap it.
  fc.integer({ min: 0, max: 95 }).map((prefix) => ({ kind: 6 as const, n: MAPPED, prefix })),
);

/** Every text form of an address that `contains` accepts. */
function texts(a: Addr): fc.Arbitrary<string> {
  if (a.kind === 4) return fc.constant(toV4Text(a.n));
  const forms = [fc.constant(toV6Full(a.n)), fc.constant(toV6Compressed(a.n)), fc.constant(`[${toV6Compressed(a.n)}]`)];
  forms.push(fc.constant(toV6Full(a.n).toUpperCase()));
  if ((a.n & MAPPED_MASK) === MAPPED) forms.push(fc.constant(`::ffff:${toV4Text(a.n & 0xffffffffn)}`));
  return fc.oneof(...forms);
}

function rangeText(r: Addr & { prefix: number }): string {
  if (r.kind === 4) return `${toV4Text(r.n)}/${r.prefix}`;
  if ((r.n & MAPPED_MASK) === MAPPED && r.prefix >= 96) return `::ffff:${toV4Text(r.n & 0xffffffffn)}/${r.prefix}`;
  return `${toV6Compressed(r.n)}/${r.prefix}`;
}

describe("CidrList matching (properties against a BigInt model)", () => {
  it("contains(address) is exactly the model's answer, for every family and text form", () => {
    fc.assert(
      fc.property(
        range.chain((r) => fc.tuple(fc.constant(r), addressNear(r).chain((a) => fc.tuple(fc.constant(a), texts(a))))),
        ([r, [a, text]]) => {
          expect(new CidrList([rangeText(r)]).contains(text)).toBe(refContains(r, a));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("a list contains an address exactly when one of its ranges does", () => {
    fc.assert(
      fc.property(fc.array(range, { minLength: 0, maxLength: 5 }), v4n, v6n, (ranges, a4, a6) => {
        const list = new CidrList(ranges.map(rangeText));
        for (const a of [{ kind: 4, n: a4 }, { kind: 6, n: a6 }, { kind: 6, n: MAPPED | a4 }] as Addr[]) {
          const text = a.kind === 4 ? toV4Text(a.n) : toV6Compressed(a.n);
          expect(list.contains(text)).toBe(ranges.some((r) => refContains(r, a)));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("an IPv4-mapped address is judged exactly like its IPv4, whatever the list", () => {
    fc.assert(
      fc.property(fc.array(range, { maxLength: 4 }), v4n, (ranges, n) => {
        const list = new CidrList(ranges.map(rangeText));
        const v4 = list.contains(toV4Text(n));
        expect(list.contains(`::ffff:${toV4Text(n)}`)).toBe(v4);
        expect(list.contains(toV6Compressed(MAPPED | n))).toBe(v4);
        expect(list.contains(`[0:0:0:0:0:ffff:${toV4Text(n)}]`)).toBe(v4);
      }),
      { numRuns: 500 },
    );
  });

  it("a mapped-form range is the IPv4 range it names", () => {
    fc.assert(
      fc.property(v4n, fc.integer({ min: 0, max: 32 }), v4n, (net, prefix, n) => {
        const mapped = new CidrList([`::ffff:${toV4Text(net)}/${prefix + 96}`]);
        const plain = new CidrList([`${toV4Text(net)}/${prefix}`]);
        expect(mapped.contains(toV4Text(n))).toBe(plain.contains(toV4Text(n)));
        expect(mapped.contains(`::ffff:${toV4Text(n)}`)).toBe(plain.contains(toV4Text(n)));
      }),
    );
  });

  it("contains never throws and is false for anything that is not a strict, zone-free literal", () => {
    const list = new CidrList(["0.0.0.0/0", "::/0"]);
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const inside = list.contains(s);
        if (inside) expect(/^[0-9a-fA-F:.[\]]+$/.test(s)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    for (const s of [" 10.0.0.1", "10.0.0.1 ", "010.0.0.1", "10.1", "0x0a.0.0.1", "167772161", "fe80::1%eth0", "[fe80::1%25eth0]", "", "::ffff:010.0.0.1"]) {
      expect(list.contains(s), s).toBe(false);
    }
    expect(list.contains(5 as unknown as string)).toBe(false);
  });
});

describe("CidrList parsing", () => {
  it("IPv6 ranges wider than the mapped block do not cover IPv4 destinations (::/0 does not open 169.254.169.254)", () => {
    for (const cidr of ["::/0", "::/80", "::/95", "::ffff:0:0/95"]) {
      const list = new CidrList([cidr]);
      expect(list.contains("169.254.169.254"), cidr).toBe(false);
      expect(list.contains("::ffff:169.254.169.254"), cidr).toBe(false);
    }
    expect(new CidrList(["::/0"]).contains("fd00::1")).toBe(true);
    expect(new CidrList(["::ffff:0:0/96"]).contains("169.254.169.254")).toBe(true);
    expect(new CidrList(["::ffff:10.0.0.0/104"]).contains("10.1.2.3")).toBe(true);
    expect(new CidrList(["::ffff:10.0.0.0/104"]).contains("11.1.2.3")).toBe(false);
  });

  it("IPv4-compatible (::a.b.c.d), NAT64 and 6to4 addresses are IPv6, not their embedded IPv4", () => {
    const list = new CidrList(["10.0.0.0/8"]);
    for (const s of ["::10.1.2.3", "::a01:203", "64:ff9b::10.1.2.3", "2002:a01:203::1"]) expect(list.contains(s), s).toBe(false);
  });

  it("host bits below the prefix are ignored", () => {
    const list = new CidrList(["10.9.8.7/8", "fd12:3456::1/16"]);
    expect(list.contains("10.200.0.1")).toBe(true);
    expect(list.contains("fd12:ffff::9")).toBe(true);
    expect(list.contains("fd13::9")).toBe(false);
    expect(list.cidrs).toEqual(["10.9.8.7/8", "fd12:3456::1/16"]);
  });

  it("accepts every prefix of the family written without leading zeros, refuses any with one", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 0, max: 128 }), fc.integer({ min: 1, max: 2 }), (v4, prefix, zeros) => {
        const address = v4 ? "10.0.0.0" : "fd00::";
        const max = v4 ? 32 : 128;
        const plain = () => new CidrList([`${address}/${prefix}`]);
        if (prefix <= max) expect(plain().size).toBe(1);
        else expect(plain).toThrow(TypeError);
        expect(() => new CidrList([`${address}/${"0".repeat(zeros)}${prefix}`])).toThrow(/^allowPrivateCidrs\[0\] must be a CIDR/);
      }),
    );
  });

  it("refuses whitespace anywhere, zone ids, brackets, signs and non-canonical addresses", () => {
    const ws = fc.constantFrom(" ", "\t", "\n", "\r", "\u00a0", "\u2028", "\ufeff");
    fc.assert(
      fc.property(fc.constantFrom("10.0.0.0/8", "fd00::/8", "::1/128"), ws, fc.nat(), (cidr, space, at) => {
        const i = at % (cidr.length + 1);
        const spaced = cidr.slice(0, i) + space + cidr.slice(i);
        expect(() => new CidrList([spaced])).toThrow(/^allowPrivateCidrs\[0\] must be a CIDR/);
      }),
    );
    for (const bad of ["fe80::%eth0/10", "fe80::%25eth0/10", "[fd00::]/8", "10.0.0.0/+8", "10.0.0.0/8/8", "010.0.0.0/8", "10.0.0/8", "0xa.0.0.0/8", "::ffff:010.0.0.0/104", "/8", "10.0.0.0/8 ", " 10.0.0.0/8"]) {
      expect(() => new CidrList([bad]), bad).toThrow(/^allowPrivateCidrs\[0\] must be a CIDR/);
    }
  });

  it("a hole in a sparse array is an entry that is not a CIDR", () => {
    const sparse: string[] = ["10.0.0.0/8"];
    sparse[2] = "fd00::/8";
    expect(() => new CidrList(sparse)).toThrow(/^allowPrivateCidrs\[1\] must be a CIDR/);
    expect(new CidrList(sparse, { lenient: true }).cidrs).toEqual(["10.0.0.0/8", "fd00::/8"]);
    expect(() => new CidrList("10.0.0.0/8" as unknown as string[])).toThrow(/^allowPrivateCidrs must be an array of CIDR strings/);
    expect(() => new CidrList([7 as unknown as string], { field: "x" })).toThrow(/^x\[0\] must be a CIDR/);
  });

  it("is frozen: the ranges cannot be changed after construction", () => {
    const list = new CidrList(["10.0.0.0/8"]);
    expect(Object.isFrozen(list.cidrs)).toBe(true);
    expect(() => (list.cidrs as string[]).push("0.0.0.0/0")).toThrow(TypeError);
    expect(list.contains("11.0.0.1")).toBe(false);
  });
});
