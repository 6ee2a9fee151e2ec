import ipaddr from "ipaddr.js";
import { parseIp } from "./ip.js";

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

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

/**
 * A validated list of CIDR ranges (`127.0.0.1/32`, `fd00::/8`), used for the
 * operator's opt-in to private addresses (`allowPrivateCidrs`). The address
 * part is parsed strictly (canonical IPv4, RFC 4291 IPv6, no zone), the prefix
 * must fit the family. An IPv4-mapped IPv6 address is matched as its IPv4, so
 * `::ffff:10.0.0.1` cannot dodge (or sneak into) an IPv4 range.
 */
const CIDR_BRAND = Symbol.for("clawft.CidrList");

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
  readonly #ranges: readonly Range[];

  constructor(cidrs: readonly string[], options: CidrListOptions = {}) {
    const field = options.field ?? "allowPrivateCidrs";
    if (!Array.isArray(cidrs)) throw new TypeError(`${field} must be an array of CIDR strings`);
    const ranges: Range[] = [];
    const kept: string[] = [];
    cidrs.forEach((cidr: unknown, i: number) => {
      const range = parseCidr(cidr);
      if (!range) {
        if (options.lenient) return;
        throw new TypeError(`${field}[${i}] must be a CIDR such as "127.0.0.1/32" or "fd00::/8"`);
      }
      ranges.push(range);
      kept.push(cidr as string);
    });
    this.cidrs = Object.freeze(kept);
    this.#ranges = Object.freeze(ranges);
  }

  get size(): number {
    return this.#ranges.length;
  }

  /** True when `ip` (an IP literal as `isPrivateIp` accepts it) is inside one of the ranges. Never throws. */
  contains(ip: string): boolean {
    if (this.#ranges.length === 0) return false;
    const parsed = parseIp(ip);
    if (!parsed || parsed.zone !== undefined) return false;
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    if (parsed.kind === 4) {
      const n = parsed.v4;
      addr = new ipaddr.IPv4([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
    } else {
      const v6 = new ipaddr.IPv6([...parsed.groups]);
      addr = v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
    }
    for (const range of this.#ranges) {
      if (range[0].kind() === addr.kind() && addr.match(range)) return true;
    }
    return false;
  }
}

function parseCidr(cidr: unknown): Range | undefined {
  if (typeof cidr !== "string") return undefined;
  const slash = cidr.indexOf("/");
  if (slash < 0) return undefined;
  const address = cidr.slice(0, slash);
  const prefixText = cidr.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const parsed = parseIp(address);
  if (!parsed || parsed.zone !== undefined || address.startsWith("[")) return undefined;
  if (parsed.kind === 4) {
    if (prefix > 32) return undefined;
    const n = parsed.v4;
    return [new ipaddr.IPv4([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]), prefix];
  }
  if (prefix > 128) return undefined;
  return [new ipaddr.IPv6([...parsed.groups]), prefix];
}
