import { entriesAllow, NetworkAllowlist } from "./allowlist.js";
import { CidrList } from "./cidr.js";
import { isPrivateParsed, parseIPv4Strict, parseIPv6Strict } from "./ip.js";

/** The refusal codes of `checkUrl`. */
export type CheckUrlCode =
  | "INVALID_URL"
  | "SCHEME_NOT_ALLOWED"
  | "NETWORK_NOT_PERMITTED"
  | "HOST_NOT_ALLOWED"
  | "PRIVATE_IP";

/** The catalogue's message (prefix) for each refusal code. */
export const CHECK_URL_MESSAGES: Readonly<Record<CheckUrlCode, string>> = Object.freeze({
  INVALID_URL: "invalid url",
  SCHEME_NOT_ALLOWED: "scheme not allowed",
  NETWORK_NOT_PERMITTED: "network access not permitted",
  HOST_NOT_ALLOWED: "host not in network allowlist",
  PRIVATE_IP: "request to private/reserved IP denied",
});

export type CheckUrlResult =
  | {
      readonly ok: true;
      /** The parsed URL: connect to this, never re-parse the original string. */
      readonly url: URL;
      /**
       * The host that was judged: `url.hostname` with IPv6 brackets removed
       * (lower case, punycode, canonical IPv4; a trailing dot on a name kept).
       */
      readonly host: string;
      /** True when `host` is an IP literal (then it is public: private ones are refused). */
      readonly isIp: boolean;
    }
  | { readonly ok: false; readonly code: CheckUrlCode; readonly message: string };

function fail(code: CheckUrlCode, message: string = CHECK_URL_MESSAGES[code]): CheckUrlResult {
  return { ok: false, code, message };
}

/** Options of `checkUrl`. */
export interface CheckUrlOptions {
  /**
   * The operator's opt-in to private addresses: a private IP literal inside one
   * of these ranges is judged by the allowlist like a public one (it must still
   * be listed, or the list be `*`). Malformed CIDRs match nothing.
   * @default none (every private literal is refused)
   */
  allowPrivateCidrs?: readonly string[] | CidrList;
}

/**
 * Every check of an outgoing request that can be made before DNS, in this
 * order: parse (WHATWG) → scheme (http/https only) → an empty allowlist means no
 * network at all → a private or reserved IP literal is refused (even when the
 * list names it or is `*`) → the host must be in the allowlist.
 *
 * The host judged is the one the WHATWG parser produced, the same one the
 * connection will use: `http://2130706433/`, `0x7f.1`, `127.1`,
 * `[::ffff:127.0.0.1]`, userinfo tricks (`http://good.com@127.0.0.1/`),
 * percent-escapes and IDN spellings are all normalised before judging, which
 * stops SSRF through alternative spellings of an address. Names that merely
 * look like addresses (`127.0.0.1.nip.io`) are names: allowed only when listed,
 * and their resolved address must be checked later (sandbox-http).
 *
 * Never throws: a malformed entry in a `network` array (or in
 * `options.allowPrivateCidrs`) matches nothing and the rest still applies.
 */
export function checkUrl(
  url: string | URL,
  network: readonly string[] | NetworkAllowlist,
  options: CheckUrlOptions = {},
): CheckUrlResult {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : new URL(url.href);
  } catch {
    return fail("INVALID_URL");
  }
  const protocol = parsed.protocol;
  if (protocol !== "http:" && protocol !== "https:") {
    return fail("SCHEME_NOT_ALLOWED", `scheme not allowed: ${protocol.slice(0, -1).slice(0, 32)}`);
  }
  let list: NetworkAllowlist | undefined;
  let entries: readonly unknown[] = [];
  if (NetworkAllowlist.isInstance(network)) {
    if (network.size === 0) return fail("NETWORK_NOT_PERMITTED");
    list = network;
  } else {
    // Not an array, or an empty one: no network permission at all. Malformed
    // entries match nothing; a list of only malformed entries is not empty,
    // so it answers HOST_NOT_ALLOWED below.
    if (!Array.isArray(network) || network.length === 0) return fail("NETWORK_NOT_PERMITTED");
    entries = network;
  }

  let host = parsed.hostname;
  if (host === "") return fail("INVALID_URL");
  let isIp = false;
  let isPrivate = false;
  if (host.charCodeAt(0) === 91 /* [ */) {
    host = host.slice(1, -1);
    const groups = parseIPv6Strict(host);
    // The WHATWG parser only produces valid IPv6 here; anything else is refused.
    if (!groups) return fail("INVALID_URL");
    isPrivate = isPrivateParsed({ kind: 6, groups, zone: undefined });
    isIp = true;
  } else {
    const v4 = parseIPv4Strict(host);
    if (v4 >= 0) {
      isPrivate = isPrivateParsed({ kind: 4, v4, zone: undefined });
      isIp = true;
    }
  }
  if (isPrivate) {
    const cidrs = typeof options === "object" && options !== null ? options.allowPrivateCidrs : undefined;
    if (!privateAllowed(host, cidrs)) return fail("PRIVATE_IP");
  }
  if (!(list ? list.allows(host) : entriesAllow(entries, host))) return fail("HOST_NOT_ALLOWED");
  return { ok: true, url: parsed, host, isIp };
}

function privateAllowed(host: string, cidrs: readonly string[] | CidrList | undefined): boolean {
  if (cidrs === undefined) return false;
  if (CidrList.isInstance(cidrs)) return cidrs.contains(host);
  if (!Array.isArray(cidrs) || cidrs.length === 0) return false;
  try {
    return new CidrList(cidrs, { lenient: true }).contains(host);
  } catch {
    return false;
  }
}

const REDACTED = "***";
const MAX_REDACTED_LENGTH = 2048;

/**
 * A URL for audit logs: `scheme://host[:port]/path?key=***`, with userinfo
 * replaced by `***@`, every query value (and every bare `?flag`, which may be
 * a token) by `***` and the fragment dropped, so
 * credentials and tokens in URLs never reach a log. Not a URL (or a scheme
 * without a host, like `data:`) gives `scheme:***` / `(invalid url)`. At most
 * 2048 characters.
 */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = typeof url === "string" ? new URL(url) : new URL(url.href);
  } catch {
    return "(invalid url)";
  }
  let out: string;
  if (u.host === "" && u.protocol !== "file:") {
    out = `${u.protocol}${REDACTED}`;
  } else {
    const userinfo = u.username !== "" || u.password !== "" ? `${REDACTED}@` : "";
    out = `${u.protocol}//${userinfo}${u.host}${u.pathname}`;
    if (u.search !== "") {
      const keys: string[] = [];
      for (const part of u.search.slice(1).split("&")) {
        if (part === "") continue;
        const eq = part.indexOf("=");
        keys.push(eq < 0 ? REDACTED : `${part.slice(0, eq)}=${REDACTED}`);
      }
      out += `?${keys.join("&")}`;
    }
  }
  return out.length > MAX_REDACTED_LENGTH ? `${out.slice(0, MAX_REDACTED_LENGTH)}...` : out;
}
