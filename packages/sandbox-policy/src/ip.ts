/**
 * IP address classification: is an address anything other than global unicast?
 *
 * The parser here is deliberately strict (canonical dotted-decimal IPv4, RFC 4291
 * text forms of IPv6) so that a string can never be read one way by this module
 * and another way by the code that connects to it. Hosts taken from URLs have
 * already been normalised by the WHATWG URL parser (`127.1`, `0x7f.1`,
 * `2130706433` all become `127.0.0.1`), so strictness costs callers nothing.
 */

/** A parsed address: IPv4 as one unsigned 32-bit number, IPv6 as eight 16-bit groups. */
export type ParsedIp =
  | { readonly kind: 4; readonly v4: number; readonly zone: undefined }
  | { readonly kind: 6; readonly groups: readonly number[]; readonly zone: string | undefined };

const CH_0 = 48;
const CH_9 = 57;
const CH_DOT = 46;
const CH_COLON = 58;

/**
 * Parses canonical dotted-decimal IPv4 (`a.b.c.d`, each 0–255, no leading zeros,
 * no hex, no fewer than four parts) between `start` and `end`. Returns the
 * address as an unsigned 32-bit number, or -1.
 *
 * Strictness stops parser-differential attacks: `010.0.0.1` is 8.0.0.1 to the
 * WHATWG parser and inet_aton but 10.0.0.1 to others; `127.1` is 127.0.0.1.
 * Such strings are refused rather than guessed at.
 */
export function parseIPv4Strict(s: string, start = 0, end = s.length): number {
  let value = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    if (i >= end) return -1;
    const first = s.charCodeAt(i);
    if (first < CH_0 || first > CH_9) return -1;
    let octet = first - CH_0;
    i++;
    let digits = 1;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < CH_0 || c > CH_9) break;
      if (octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - CH_0);
      if (octet > 255) return -1;
      i++;
      digits++;
    }
    if (digits > 3) return -1;
    value = value * 256 + octet;
    parts++;
    if (parts < 4) {
      if (i >= end || s.charCodeAt(i) !== CH_DOT) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses an RFC 4291 IPv6 text form between `start` and `end` (no brackets, no
 * zone): hex groups of 1–4 digits, at most one `::`, an optional trailing
 * strict dotted-quad IPv4. Returns the eight groups, or undefined.
 */
export function parseIPv6Strict(s: string, start = 0, end = s.length): number[] | undefined {
  if (end - start < 2 || end - start > 45) return undefined;
  const head: number[] = [];
  const tail: number[] = [];
  let cur = head;
  let compressed = false;
  let i = start;
  if (s.charCodeAt(i) === CH_COLON) {
    if (s.charCodeAt(i + 1) !== CH_COLON) return undefined;
    compressed = true;
    cur = tail;
    i += 2;
    if (i === end) return [0, 0, 0, 0, 0, 0, 0, 0];
  }
  for (;;) {
    // One group (or a trailing IPv4) starts at i.
    let j = i;
    let group = 0;
    let sawDot = false;
    while (j < end) {
      const c = s.charCodeAt(j);
      if (c === CH_COLON) break;
      if (c === CH_DOT) {
        sawDot = true;
        break;
      }
      const h = hexValue(c);
      if (h < 0) return undefined;
      group = group * 16 + h;
      j++;
    }
    if (sawDot) {
      const v4 = parseIPv4Strict(s, i, end);
      if (v4 < 0) return undefined;
      cur.push(Math.floor(v4 / 65536), v4 % 65536);
      break;
    }
    const len = j - i;
    if (len < 1 || len > 4) return undefined;
    cur.push(group);
    if (j === end) break;
    // s[j] is ':'
    if (j + 1 < end && s.charCodeAt(j + 1) === CH_COLON) {
      if (compressed) return undefined;
      compressed = true;
      cur = tail;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return undefined; // trailing single ':'
    }
  }
  const count = head.length + tail.length;
  if (compressed) {
    if (count > 7) return undefined;
    const out = head.slice();
    for (let k = count; k < 8; k++) out.push(0);
    for (const g of tail) out.push(g);
    return out;
  }
  return count === 8 ? head : undefined;
}

const ZONE_RE = /^[A-Za-z0-9_.~-]{1,64}$/;

/**
 * Parses an IP literal as `isPrivateIp` accepts it: canonical dotted IPv4, or
 * IPv6 with an optional zone id (`fe80::1%eth0`), optionally in brackets
 * (`[::1]`, `[fe80::1%eth0]`, `[fe80::1%25eth0]`). Returns undefined for
 * anything else.
 */
export function parseIp(input: string): ParsedIp | undefined {
  const s = input;
  let start = 0;
  let end = s.length;
  if (end === 0 || end > 120) return undefined;
  let bracketed = false;
  if (s.charCodeAt(0) === 91 /* [ */) {
    if (s.charCodeAt(end - 1) !== 93 /* ] */) return undefined;
    bracketed = true;
    start = 1;
    end -= 1;
  }
  if (!bracketed) {
    const v4 = parseIPv4Strict(s, start, end);
    if (v4 >= 0) return { kind: 4, v4, zone: undefined };
  }
  let zone: string | undefined;
  const pct = s.indexOf("%", start);
  if (pct >= 0 && pct < end) {
    zone = s.slice(pct + 1, end);
    if (bracketed && zone.startsWith("25") && zone.length > 2) zone = zone.slice(2);
    if (!ZONE_RE.test(zone)) return undefined;
    end = pct;
  }
  const groups = parseIPv6Strict(s, start, end);
  if (!groups) return undefined;
  return { kind: 6, groups, zone };
}

/**
 * True when an IPv4 address (unsigned 32-bit) is not global unicast: every
 * block of the IANA IPv4 Special-Purpose Address Registry whose "globally
 * reachable" is false, plus multicast and the reserved 240/4. Stops SSRF to
 * loopback, LAN, cloud metadata (169.254.169.254), carrier-grade NAT, etc.
 */
export function isPrivateIPv4Number(a: number): boolean {
  const o1 = a >>> 24;
  switch (o1) {
    case 0: // 0.0.0.0/8 "this network"
    case 10: // 10/8 RFC 1918
    case 127: // loopback
      return true;
    case 100: // 100.64/10 shared address space (CGNAT)
      return (a & 0xffc00000) >>> 0 === 0x64400000;
    case 169: // 169.254/16 link-local (cloud metadata lives here)
      return (a & 0xffff0000) >>> 0 === 0xa9fe0000;
    case 172: // 172.16/12 RFC 1918
      return (a & 0xfff00000) >>> 0 === 0xac100000;
    case 192: {
      const top24 = (a & 0xffffff00) >>> 0;
      return (
        top24 === 0xc0000000 || // 192.0.0/24 IETF protocol assignments
        top24 === 0xc0000200 || // 192.0.2/24 TEST-NET-1
        top24 === 0xc0586300 || // 192.88.99/24 6to4 relay anycast (deprecated)
        (a & 0xffff0000) >>> 0 === 0xc0a80000 // 192.168/16 RFC 1918
      );
    }
    case 198:
      return (
        (a & 0xfffe0000) >>> 0 === 0xc6120000 || // 198.18/15 benchmarking
        (a & 0xffffff00) >>> 0 === 0xc6336400 // 198.51.100/24 TEST-NET-2
      );
    case 203:
      return (a & 0xffffff00) >>> 0 === 0xcb007100; // 203.0.113/24 TEST-NET-3
    default:
      // 224/4 multicast, 240/4 reserved, 255.255.255.255 broadcast
      return o1 >= 224;
  }
}

/**
 * True when eight IPv6 groups are not global unicast. Anything outside
 * 2000::/3 is private (loopback, unspecified, ULA fc00::/7, link-local,
 * multicast, site-local, discard 100::/64, IPv4-compatible ::a.b.c.d,
 * 64:ff9b:1::/48, ...), except the two forms judged by the IPv4 they carry:
 * IPv4-mapped `::ffff:0:0/96` (judged ONLY by its IPv4) and the NAT64
 * well-known prefix `64:ff9b::/96` (the IANA registry marks it globally
 * reachable; on an IPv6-only network with DNS64 it is how public IPv4 sites are
 * reached, so it is private exactly when its IPv4 is).
 *
 * Inside 2000::/3: 2001::/23 (IETF protocol assignments, including Teredo
 * 2001::/32 and benchmarking 2001:2::/48) is private except the globally
 * reachable AMT 2001:3::/32 and AS112-v6 2001:4:112::/48; documentation
 * 2001:db8::/32 and 3fff::/20 are private; 6to4 2002::/16 is judged by the IPv4
 * in its bits 16–47. Teredo is always private (its client IPv4 is XOR-ed and
 * sits behind a NAT: there is no legitimate plugin use, and judging it by the
 * embedded address would invite tricks).
 */
export function isPrivateIPv6Groups(g: readonly number[]): boolean {
  const g0 = g[0] ?? 0;
  const g1 = g[1] ?? 0;
  const g2 = g[2] ?? 0;
  const g3 = g[3] ?? 0;
  const g4 = g[4] ?? 0;
  const g5 = g[5] ?? 0;
  const g6 = g[6] ?? 0;
  const g7 = g[7] ?? 0;
  const embedded = g6 * 65536 + g7;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) {
    // IPv4-mapped: the connection goes to the IPv4, so only the IPv4 counts.
    return isPrivateIPv4Number(embedded);
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    // NAT64 well-known prefix 64:ff9b::/96.
    return isPrivateIPv4Number(embedded);
  }
  if ((g0 & 0xe000) !== 0x2000) return true; // outside 2000::/3
  if (g0 === 0x2001) {
    if (g1 < 0x200) {
      // 2001::/23
      if (g1 === 3) return false; // AMT 2001:3::/32
      if (g1 === 4 && g2 === 0x112) return false; // AS112-v6 2001:4:112::/48
      return true;
    }
    return g1 === 0xdb8; // 2001:db8::/32 documentation
  }
  if (g0 === 0x2002) {
    // 6to4: the IPv4 is in groups 1–2.
    return isPrivateIPv4Number(g1 * 65536 + g2);
  }
  if (g0 === 0x3fff && g1 < 0x1000) return true; // 3fff::/20 documentation
  return false;
}

/**
 * True for every address that is not global unicast (see
 * `isPrivateIPv4Number` and `isPrivateIPv6Groups` for the exact ranges).
 *
 * Accepted input: canonical dotted-decimal IPv4 (`10.0.0.1`); any RFC 4291
 * IPv6 text form, case-insensitive, with an optional trailing dotted IPv4
 * (`::ffff:127.0.0.1`); IPv6 in brackets (`[::1]`); IPv6 with a zone id
 * (`fe80::1%eth0`, `[fe80::1%25eth0]`). An address with a zone id is always
 * private: a zone makes it scoped to one link, never global.
 *
 * Throws `TypeError` for anything that is not such a literal, including
 * non-canonical IPv4 (`127.1`, `0x7f.0.0.1`, `2130706433`, `010.0.0.1`):
 * these are refused rather than judged, so that a parser differential can never
 * make a private address look public. Hosts from `new URL()` are already
 * canonical.
 */
export function isPrivateIp(ip: string): boolean {
  if (typeof ip !== "string") throw new TypeError("isPrivateIp: ip must be a string");
  const parsed = parseIp(ip);
  if (!parsed) throw new TypeError(`not an IP address literal: ${JSON.stringify(ip.slice(0, 64))}`);
  return isPrivateParsed(parsed);
}

/** `isPrivateIp` on an already parsed address. */
export function isPrivateParsed(parsed: ParsedIp): boolean {
  if (parsed.kind === 4) return isPrivateIPv4Number(parsed.v4);
  if (parsed.zone !== undefined) return true;
  return isPrivateIPv6Groups(parsed.groups);
}

/** True when `s` is an IP literal that `isPrivateIp` accepts. Never throws. */
export function isIpLiteral(s: string): boolean {
  return typeof s === "string" && parseIp(s) !== undefined;
}
