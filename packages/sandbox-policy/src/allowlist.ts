import { domainToASCII } from "node:url";
import { SandboxError } from "./errors.js";
import { parseIPv4Strict, parseIPv6Strict } from "./ip.js";
import { escapeControlText } from "./log.js";

/** What one network entry or host normalises to. */
export type NormalizedHost =
  | { readonly kind: "name"; readonly host: string }
  | { readonly kind: "ip"; readonly host: string }
  | { readonly kind: "wildcard"; readonly suffix: string }
  | { readonly kind: "any" };

/** Characters never valid in a host or entry (URL delimiters, whitespace, percent-escapes, controls). */
const FORBIDDEN = /[\s\x00-\x1f\x7f/\\?#@%<>^|"'`{}]/;

/** Formats eight IPv6 groups in the WHATWG/RFC 5952 compressed form, lower case, no brackets. */
export function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += i === 0 ? "::" : ":";
      i += bestLen - 1;
      continue;
    }
    out += (groups[i] ?? 0).toString(16);
    if (i < 7) out += ":";
  }
  return out;
}

/**
 * The comparison form of an IPv6 address: IPv4-mapped `::ffff:a.b.c.d` becomes
 * the dotted IPv4 (it is the same destination), anything else its compressed form.
 */
function canonicalIPv6(groups: readonly number[]): string {
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `${hi >>> 8}.${hi & 255}.${lo >>> 8}.${lo & 255}`;
  }
  return formatIPv6(groups);
}

/**
 * True for a domain name of lower-case ASCII LDH labels (underscore tolerated:
 * it exists in real DNS names), each 1–63 characters, not starting or ending
 * with `-`, at most 253 characters, whose last label is not numeric (a name
 * whose last label is a number would be parsed as IPv4 by the WHATWG parser).
 * One pass over the characters: this runs on every checked URL.
 */
function isDomainName(name: string): boolean {
  const n = name.length;
  if (n === 0 || n > 253) return false;
  let labelStart = 0;
  let allDigits = true;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? name.charCodeAt(i) : 46; /* a virtual "." ends the last label */
    if (c === 46) {
      const len = i - labelStart;
      if (len === 0 || len > 63) return false;
      if (name.charCodeAt(labelStart) === 45 || name.charCodeAt(i - 1) === 45) return false;
      if (i === n) {
        // Last label: not a number (decimal, or 0x-hex which WHATWG also reads as IPv4).
        if (allDigits) return false;
        if (len >= 2 && name.charCodeAt(labelStart) === 48 && name.charCodeAt(labelStart + 1) === 120) {
          let hex = true;
          for (let j = labelStart + 2; j < i; j++) {
            const h = name.charCodeAt(j);
            if (!((h >= 48 && h <= 57) || (h >= 97 && h <= 102))) hex = false;
          }
          if (hex) return false;
        }
      }
      labelStart = i + 1;
      allDigits = true;
      continue;
    }
    if (c >= 48 && c <= 57) continue;
    allDigits = false;
    if ((c >= 97 && c <= 122) || c === 45 || c === 95) continue;
    return false;
  }
  return true;
}

/**
 * Normalises one host (or the host part of a network entry) the way the WHATWG
 * URL parser would, so that an entry and a URL host can only be equal when they
 * name the same thing: lower case, IDN to punycode (`domainToASCII`), numeric
 * IPv4 forms (`127.1`, `0x7f.1`) to dotted decimal, IPv6 to its compressed form,
 * one trailing dot and a `:port` removed. Returns undefined when the input is not
 * a host at all (spaces, URL delimiters, `%`-escapes, empty labels, ...).
 *
 * Stops allowlist bypasses through spelling: `EXAMPLE.com.`, `bücher.de` vs
 * `xn--bcher-kva.de`, `[0:0::1]` vs `[::1]`.
 */
export function normalizeHost(input: string, allowWildcard = false): NormalizedHost | undefined {
  if (typeof input !== "string" || input.length === 0 || input.length > 300) return undefined;
  // Fast path: an already normalised name, the common case for URL hosts
  // (punycode labels take the slow path so that invalid ones are refused).
  if (!input.includes("xn--")) {
    const name = input.charCodeAt(input.length - 1) === 46 ? input.slice(0, -1) : input;
    if (isDomainName(name)) return { kind: "name", host: name };
  }
  if (allowWildcard && input === "*") return { kind: "any" };
  if (FORBIDDEN.test(input)) return undefined;

  let rest = input;
  // Bracketed IPv6, optionally with a port.
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) return undefined;
    const after = rest.slice(close + 1);
    if (after !== "" && !/^:\d{1,5}$/.test(after)) return undefined;
    if (after !== "" && Number(after.slice(1)) > 65535) return undefined;
    const groups = parseIPv6Strict(rest, 1, close);
    if (!groups) return undefined;
    return { kind: "ip", host: canonicalIPv6(groups) };
  }
  const colons = rest.split(":").length - 1;
  if (colons >= 2) {
    // Bare IPv6 (no port possible without brackets).
    const groups = parseIPv6Strict(rest);
    if (!groups) return undefined;
    return { kind: "ip", host: canonicalIPv6(groups) };
  }
  if (colons === 1) {
    const i = rest.indexOf(":");
    const port = rest.slice(i + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return undefined;
    rest = rest.slice(0, i);
  }
  if (rest.endsWith(".")) rest = rest.slice(0, -1);
  if (rest.length === 0 || rest.endsWith(".")) return undefined;

  let wildcard = false;
  if (rest.startsWith("*.")) {
    if (!allowWildcard) return undefined;
    wildcard = true;
    rest = rest.slice(2);
  }
  if (rest.includes("*")) return undefined;
  if (rest.includes("[") || rest.includes("]")) return undefined;

  // WHATWG "domain to ASCII": lower-cases, maps IDN to punycode, and turns
  // numeric hosts (127.1, 0x7f.1, 2130706433) into dotted-decimal IPv4. It is
  // the identity on lower-case LDH names and canonical IPv4, so skip it there.
  const simple = !rest.includes("xn--") && (isDomainName(rest) || parseIPv4Strict(rest) >= 0);
  const ascii = simple ? rest : domainToASCII(rest);
  if (ascii === "") return undefined;
  if (parseIPv4Strict(ascii) >= 0) {
    return wildcard ? undefined : { kind: "ip", host: ascii };
  }
  if (!isDomainName(ascii)) return undefined;
  return wildcard ? { kind: "wildcard", suffix: "." + ascii } : { kind: "name", host: ascii };
}

/**
 * True when a network entry names a port (`api.example.com:8443`, `[::1]:8080`).
 * A bare IPv6 address (`::1`, two or more colons, no brackets) has no port.
 */
export function networkEntryHasPort(entry: string): boolean {
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    return close >= 0 && entry.charCodeAt(close + 1) === 58 /* ":" */;
  }
  const first = entry.indexOf(":");
  return first >= 0 && entry.indexOf(":", first + 1) < 0;
}

/**
 * Normalises a network entry: a host name, IP literal, `*.domain` or `*`; one
 * trailing dot ignored. An entry with a port (`api.example.com:8443`) is
 * refused (undefined): the allowlist matches hosts, so a port in an entry would
 * be shown to the user as a restriction while every port of the host is
 * reachable. Stops a consent prompt from promising "port 8443 only".
 */
export function normalizeNetworkEntry(entry: unknown): NormalizedHost | undefined {
  if (typeof entry !== "string" || networkEntryHasPort(entry)) return undefined;
  return normalizeHost(entry, true);
}

/** The message for a bad entry at `path` (e.g. `network[2]`). */
export function networkEntryMessage(path: string, entry: unknown): string {
  // Escaped: the entry comes from a manifest and this message reaches terminals and logs.
  const shown = typeof entry === "string" ? `"${escapeControlText(entry.slice(0, 80))}"` : typeof entry;
  if (typeof entry === "string" && networkEntryHasPort(entry) && normalizeHost(entry, true) !== undefined) {
    return `${path} must not name a port: an allowed host is reachable on every port; list the host alone (got ${shown})`;
  }
  return `${path} must be a host name, "*.domain" or "*" without a port (got ${shown})`;
}

/** Options of `NetworkAllowlist`. */
export interface NetworkAllowlistOptions {
  /**
   * How entries are named in errors (`${field}[i] must be ...`).
   * @default "network"
   */
  field?: string;
  /**
   * When true, malformed entries are skipped (they match nothing) instead of
   * throwing. `checkUrl` uses this so that it never throws.
   * @default false
   */
  lenient?: boolean;
}

/**
 * The network allowlist of a plugin (`permissions.network`): exact hosts
 * (case-insensitive, IDN compared in punycode, one trailing dot ignored; an
 * entry with a port is refused, since every port of a listed host is
 * reachable), `*.example.com` (subdomains only, never the apex) and `*` (every
 * host). An empty list allows nothing.
 *
 * Deny by default: a host that does not normalise cleanly (`""`, spaces,
 * `%`-escapes, `evil.com\@good.com`) is never allowed. Matching is label-exact:
 * `*.example.com` does not match `badexample.com` or `example.com.evil.net`.
 * Note that `*` and IP entries only answer "is it listed": private addresses
 * are refused by `checkUrl` before the allowlist is consulted.
 */
const ALLOWLIST_BRAND = Symbol.for("clawft.NetworkAllowlist");

export class NetworkAllowlist {
  /**
   * True when `value` is a `NetworkAllowlist`, even one from another installed
   * copy of this package (a `Symbol.for` brand, not `instanceof`).
   */
  static isInstance(value: unknown): value is NetworkAllowlist {
    return (
      typeof value === "object" &&
      value !== null &&
      (value as Record<symbol, unknown>)[ALLOWLIST_BRAND] === true &&
      typeof (value as { allows?: unknown }).allows === "function"
    );
  }

  /** The cross-copy brand (on the prototype: no per-instance cost). */
  get [ALLOWLIST_BRAND](): true {
    return true;
  }

  /** The entries as given (a frozen copy). */
  readonly entries: readonly string[];
  readonly #exact: Set<string>;
  readonly #suffixes: readonly string[];
  readonly #any: boolean;

  constructor(entries: readonly string[], options: NetworkAllowlistOptions = {}) {
    const field = options.field ?? "network";
    if (!Array.isArray(entries)) {
      throw new TypeError(`${field} must be an array of strings`);
    }
    const exact = new Set<string>();
    const suffixes: string[] = [];
    let any = false;
    const kept: string[] = [];
    entries.forEach((entry: unknown, i: number) => {
      const n = normalizeNetworkEntry(entry);
      if (!n) {
        if (options.lenient) return;
        throw new SandboxError("NETWORK_ENTRY_INVALID", networkEntryMessage(`${field}[${i}]`, entry));
      }
      kept.push(entry as string);
      if (n.kind === "any") any = true;
      else if (n.kind === "wildcard") suffixes.push(n.suffix);
      else exact.add(n.host);
    });
    this.entries = Object.freeze(kept);
    this.#exact = exact;
    this.#suffixes = Object.freeze(suffixes);
    this.#any = any;
  }

  /** Number of (valid) entries. Zero means no network access at all. */
  get size(): number {
    return this.entries.length;
  }

  /** True when `host` (a URL hostname, bracketed or bare IPv6, optionally with a port) is listed. */
  allows(host: string): boolean {
    if (this.entries.length === 0) return false;
    // Hosts from the WHATWG parser are usually already normalised: an exact hit
    // on a normalised entry is a match (normalisation is idempotent).
    if (this.#exact.has(host)) return true;
    const n = normalizeHost(host);
    if (!n || (n.kind !== "name" && n.kind !== "ip")) return false;
    if (this.#any) return true;
    if (this.#exact.has(n.host)) return true;
    if (n.kind === "name") {
      for (const suffix of this.#suffixes) {
        if (n.host.length > suffix.length && n.host.endsWith(suffix)) return true;
      }
    }
    return false;
  }
}

/**
 * `NetworkAllowlist.allows` without building the list: for a one-off check
 * against a plain array (what `checkUrl` does with a `string[]`). Malformed
 * entries match nothing. Same rule, same normalisation.
 */
export function entriesAllow(entries: readonly unknown[], host: string): boolean {
  const n = normalizeHost(host);
  if (!n || (n.kind !== "name" && n.kind !== "ip")) return false;
  for (const entry of entries) {
    if (typeof entry !== "string") continue;
    // An entry spelled exactly like the normalised host names it.
    if (entry === n.host) return true;
    const e = normalizeNetworkEntry(entry);
    if (!e) continue;
    if (e.kind === "any") return true;
    if (e.kind === "wildcard") {
      if (n.kind === "name" && n.host.length > e.suffix.length && n.host.endsWith(e.suffix)) return true;
    } else if (e.host === n.host) {
      return true;
    }
  }
  return false;
}
