import { parseIp } from "./ip.js";

/**
 * One parsed range. IPv4 as a network number and mask (unsigned 32-bit); IPv6
 * as eight 16-bit groups of the network and the prefix length. A range written
 * in IPv4-mapped form (`::ffff:10.0.0.0/104`, prefix >= 96) is stored as the
 * IPv4 range it names (`10.0.0.0/8`).
 */
type Range =
  | { readonly kind: 4; readonly net: number; readonly mask: number }
  | { readonly kind: 6; readonly groups: readonly number[]; readonly prefix: number };

/** Options of `CidrList`. */
export interface CidrListOptions {
  /**
   * How the list is named in errors (`${field}[i] must be ...`).
   * @default "allowPrivateCidrs"
   */
  field?: string;
  /**
   * Skip malformed entries instead of throwing.
   * @default false
   */
  lenient?: boolean;
}

const CIDR_BRAND = Symbol.for("clawft.CidrList");

/** A prefix length: decimal, no sign, no leading zero (`/033` is not 33 to every reader: octal 27 to some). */
const PREFIX_RE = /^(?:0|[1-9]\d{0,2})$/;

/**
 * A validated list of CIDR ranges (`127.0.0.1/32`, `fd00::/8`), used for the
 * operator's opt-in to private addresses (`allowPrivateCidrs`): the one matcher
 * shared by `checkUrl`, `PluginSandbox` and `@clawft/sandbox-http`.
 *
 * Parsing is strict so that no entry can be read one way here and another way
 * elsewhere: the address part is canonical dotted-decimal IPv4 or an RFC 4291
 * IPv6 text form (no brackets, no zone id, no surrounding whitespace), the
 * prefix is decimal without leading zeros and fits the family. Host bits below
 * the prefix are ignored (`10.0.0.1/8` is `10.0.0.0/8`).
 *
 * Matching is by where a connection goes: an IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.1`) is judged exactly like its IPv4, so it can neither dodge
 * nor sneak into an IPv4 range; a range written in mapped form
 * (`::ffff:10.0.0.0/104`) is that IPv4 range. An IPv6 range that is wider than
 * the mapped block (`::/0`, `::/80`) does NOT cover IPv4 destinations: opting
 * in "all IPv6" must not also open `169.254.169.254`. An address with a zone
 * id (`fe80::1%eth0`) is never inside: the zone picks a link the range cannot
 * name.
 */
export class CidrList {
  /** True when `value` is a `CidrList`, even from another installed copy (a `Symbol.for` brand). */
  static isInstance(value: unknown): value is CidrList {
    return (
      typeof value === "object" &&
      value !== null &&
      (value as Record<symbol, unknown>)[CIDR_BRAND] === true &&
      typeof (value as { contains?: unknown }).contains === "function"
    );
  }

  /** The cross-copy brand (on the prototype). */
  get [CIDR_BRAND](): true {
    return true;
  }

  /** The ranges as given (a frozen copy of the valid ones). */
  readonly cidrs: readonly string[];
  readonly #v4: readonly (Range & { kind: 4 })[];
  readonly #v6: readonly (Range & { kind: 6 })[];

  constructor(cidrs: readonly string[], options: CidrListOptions = {}) {
    const field = options.field ?? "allowPrivateCidrs";
    if (!Array.isArray(cidrs)) throw new TypeError(`${field} must be an array of CIDR strings`);
    const v4: (Range & { kind: 4 })[] = [];
    const v6: (Range & { kind: 6 })[] = [];
    const kept: string[] = [];
    // An index loop, not forEach: a hole in a sparse array is not a CIDR either.
    for (let i = 0; i < cidrs.length; i++) {
      const cidr: unknown = cidrs[i];
      const range = parseCidr(cidr);
      if (!range) {
        if (options.lenient) continue;
        throw new TypeError(`${field}[${i}] must be a CIDR such as "127.0.0.1/32" or "fd00::/8"`);
      }
      if (range.kind === 4) v4.push(range);
      else v6.push(range);
      kept.push(cidr as string);
    }
    this.cidrs = Object.freeze(kept);
    this.#v4 = Object.freeze(v4);
    this.#v6 = Object.freeze(v6);
  }

  get size(): number {
    return this.cidrs.length;
  }

  /**
   * True when `ip` (an IP literal as `isPrivateIp` accepts it, brackets
   * allowed) is inside one of the ranges. False for anything else, including a
   * zoned address and a string that is not a strict literal. Never throws.
   */
  contains(ip: string): boolean {
    if (this.cidrs.length === 0 || typeof ip !== "string") return false;
    const parsed = parseIp(ip);
    if (!parsed || parsed.zone !== undefined) return false;
    let v4: number;
    if (parsed.kind === 4) {
      v4 = parsed.v4;
    } else {
      const g = parsed.groups;
      if (!isMapped(g)) return this.#containsV6(g);
      // IPv4-mapped: the connection goes to the IPv4, so only the IPv4 counts.
      v4 = ((g[6] ?? 0) * 65536 + (g[7] ?? 0)) >>> 0;
    }
    for (const range of this.#v4) {
      if ((v4 & range.mask) >>> 0 === range.net) return true;
    }
    return false;
  }

  #containsV6(g: readonly number[]): boolean {
    for (const range of this.#v6) {
      if (inV6Range(g, range.groups, range.prefix)) return true;
    }
    return false;
  }
}

/** True for `::ffff:0:0/96` (IPv4-mapped IPv6). */
function isMapped(g: readonly number[]): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function inV6Range(g: readonly number[], net: readonly number[], prefix: number): boolean {
  let bits = prefix;
  for (let i = 0; i < 8 && bits > 0; i++) {
    const take = bits >= 16 ? 16 : bits;
    const mask = (0xffff << (16 - take)) & 0xffff;
    if (((g[i] ?? 0) & mask) !== ((net[i] ?? 0) & mask)) return false;
    bits -= take;
  }
  return true;
}

function parseCidr(cidr: unknown): Range | undefined {
  if (typeof cidr !== "string") return undefined;
  const slash = cidr.indexOf("/");
  if (slash < 0) return undefined;
  const address = cidr.slice(0, slash);
  const prefixText = cidr.slice(slash + 1);
  if (!PREFIX_RE.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (address.startsWith("[")) return undefined;
  const parsed = parseIp(address);
  if (!parsed || parsed.zone !== undefined) return undefined;
  if (parsed.kind === 4) {
    if (prefix > 32) return undefined;
    const mask = maskOf(prefix);
    return { kind: 4, net: (parsed.v4 & mask) >>> 0, mask };
  }
  if (prefix > 128) return undefined;
  const g = parsed.groups;
  if (prefix >= 96 && isMapped(g)) {
    // `::ffff:a.b.c.d/n` names the IPv4 range a.b.c.d/(n-96).
    const mask = maskOf(prefix - 96);
    return { kind: 4, net: (((g[6] ?? 0) * 65536 + (g[7] ?? 0)) & mask) >>> 0, mask };
  }
  return { kind: 6, groups: Object.freeze([...g]), prefix };
}
