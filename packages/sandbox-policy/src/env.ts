/**
 * Environment variables that a plugin can never read, whatever its manifest
 * says (compared case-insensitively): they carry the user's identity, search
 * path and cloud/AI credentials.
 */
export const HARD_DENIED_ENV_VARS: readonly string[] = Object.freeze([
  "PATH",
  "HOME",
  "USER",
  "SHELL",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "ANTHROPIC_API_KEY",
  "OPENAI_API_KEY",
]);

const HARD_DENIED = new Set(HARD_DENIED_ENV_VARS);

/** Name fragments (any case) that mark a variable as sensitive: listed AND approved needed. */
export const SENSITIVE_ENV_MARKERS: readonly string[] = Object.freeze(["_SECRET", "_PASSWORD", "_TOKEN"]);

/** Why `envAccess` decided as it did (for audit; never shown to the plugin). */
export type EnvAccessReason =
  | "allowed"
  | "invalid-name"
  | "hard-denied"
  | "not-listed"
  | "needs-approval";

/** Options of `envAccess` / `readEnv`. */
export interface EnvAccessOptions {
  /**
   * Names the user approved (exact). Sensitive names (`_SECRET`, `_PASSWORD`,
   * `_TOKEN`) need to be listed in the manifest AND here.
   * @default []
   */
  approved?: readonly string[];
}

function has(list: readonly string[] | undefined, name: string): boolean {
  // Array membership, never an object lookup: "__proto__", "constructor" or
  // "toString" cannot match an inherited property.
  if (!Array.isArray(list)) return false;
  for (const entry of list) if (entry === name) return true;
  return false;
}

/**
 * The env rule with its reason. Order: a malformed name (empty, NUL, `=`, not
 * a string) is refused — Node cuts names at NUL, so `PATH\0x` would read
 * `PATH`; hard-denied names are refused in any case (`path`, `Home`); names
 * containing `_SECRET`, `_PASSWORD` or `_TOKEN` (any case) must be listed and
 * approved; every other name must be listed exactly (case-sensitive).
 */
export function explainEnvAccess(
  name: string,
  allowlist: readonly string[],
  options: EnvAccessOptions = {},
): EnvAccessReason {
  if (typeof name !== "string" || name.length === 0 || name.length > 1024) return "invalid-name";
  if (name.includes("\0") || name.includes("=")) return "invalid-name";
  const upper = name.toUpperCase();
  if (HARD_DENIED.has(upper)) return "hard-denied";
  if (!has(allowlist, name)) return "not-listed";
  for (const marker of SENSITIVE_ENV_MARKERS) {
    if (upper.includes(marker)) {
      return has(options?.approved, name) ? "allowed" : "needs-approval";
    }
  }
  return "allowed";
}

/**
 * True when a plugin whose manifest lists `allowlist` may read `name`
 * (see `explainEnvAccess` for the rule). Stops credential theft through
 * `get-env`: a plugin reads only what it listed, secrets only with consent,
 * and the hard-denied names never.
 */
export function envAccess(name: string, allowlist: readonly string[], options: EnvAccessOptions = {}): boolean {
  return explainEnvAccess(name, allowlist, options) === "allowed";
}

/**
 * Reads `name` from `env` (the host passes `process.env`) if `envAccess`
 * allows it. Only own string properties count, so an inherited
 * `constructor`/`__proto__` never leaks. Denied and unset look the same:
 * `undefined` (the plugin sees `none` for both, T24/T25).
 */
export function readEnv(
  name: string,
  allowlist: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  options: EnvAccessOptions = {},
): string | undefined {
  if (!envAccess(name, allowlist, options)) return undefined;
  if (typeof env !== "object" || env === null) return undefined;
  if (!Object.prototype.hasOwnProperty.call(env, name)) return undefined;
  const value = env[name];
  return typeof value === "string" ? value : undefined;
}
