import { escapeControlText } from "./log.js";

/**
 * The longest permission value a manifest may hold (a filesystem path or an env
 * var name; host names are shorter by nature). A consent prompt shows every
 * value in full, so a value too long to read is refused at parse rather than
 * cut on screen.
 */
export const MAX_PERMISSION_ENTRY_CHARS = 1024;

/** The most entries one permission list (`network`, `filesystem`, `env_vars`) may hold. */
export const MAX_PERMISSION_ENTRIES = 64;

/** What `normalizeFilesystemGrant` returns. */
export type FilesystemGrantResult =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly problem: string };

/** The first character that `escapeControlText` would rewrite (the backslash is checked separately). */
function firstControlCharacter(text: string): string | undefined {
  // One regex pass for the common clean case; the per-character walk only names the culprit.
  const withoutBackslash = text.replaceAll("\\", "/");
  if (escapeControlText(withoutBackslash) === withoutBackslash) return undefined;
  for (const c of text) {
    if (c !== "\\" && escapeControlText(c) !== c) return escapeControlText(c);
  }
  return undefined;
}

/**
 * Checks one `permissions.filesystem` entry and returns its one normalised
 * form: the same path with a trailing `/` removed (`/data/` → `/data`, `/`
 * stays `/`). Refused, with the reason:
 * - empty, or longer than {@link MAX_PERMISSION_ENTRY_CHARS} characters;
 * - NUL, any other C0/C1 control, DEL, U+2028/U+2029, a bidi control or a lone
 *   surrogate;
 * - a backslash (a separator on Windows, a file name character elsewhere);
 * - a `.` or `..` segment, or an empty segment (`a//b`).
 *
 * Stops a grant that reads as one folder and means another: in
 * `/home/alice/.cache/x/../../../..` the prompt shows a private cache while the
 * host resolves `/`, and a grant with `\u202e` or `\r` prints differently from
 * what it grants. The result is what the prompt, the approvals file and the
 * sandbox all use, so they cannot disagree. It is a fixed point: normalising it
 * again returns it unchanged.
 */
export function normalizeFilesystemGrant(entry: string): FilesystemGrantResult {
  if (typeof entry !== "string") return { ok: false, problem: "must be a string" };
  if (entry.length === 0) return { ok: false, problem: "must not be empty" };
  if (entry.length > MAX_PERMISSION_ENTRY_CHARS) {
    return {
      ok: false,
      problem: `must be at most ${MAX_PERMISSION_ENTRY_CHARS} characters (a grant too long to show in full is refused)`,
    };
  }
  if (entry.includes("\0")) return { ok: false, problem: "must not contain NUL" };
  const control = firstControlCharacter(entry);
  if (control !== undefined) {
    return { ok: false, problem: `must not contain control, line-separator or bidi characters (found ${control})` };
  }
  if (entry.includes("\\")) return { ok: false, problem: "must use / as the separator (no backslash)" };
  const path = entry.length > 1 && entry.endsWith("/") ? entry.slice(0, -1) : entry;
  if (path === "/") return { ok: true, path };
  const segments = (path.startsWith("/") ? path.slice(1) : path).split("/");
  for (const segment of segments) {
    if (segment === "") return { ok: false, problem: "must not contain an empty segment (//)" };
    if (segment === ".") return { ok: false, problem: 'must not contain a "." segment' };
    if (segment === "..") {
      return { ok: false, problem: 'must not contain a ".." segment: write the folder it stands for' };
    }
  }
  return { ok: true, path };
}

/**
 * Checks one `permissions.env_vars` name: not empty, at most
 * {@link MAX_PERMISSION_ENTRY_CHARS} characters, no NUL, `=`, control,
 * line-separator or bidi character. Returns the problem, or undefined when the
 * name is acceptable. Stops a variable name from printing as something else in
 * the consent prompt.
 */
export function envVarNameProblem(name: string): string | undefined {
  if (typeof name !== "string") return "must be a string";
  if (name.length === 0) return "must not be empty";
  if (name.length > MAX_PERMISSION_ENTRY_CHARS) {
    return `must be at most ${MAX_PERMISSION_ENTRY_CHARS} characters (a name too long to show in full is refused)`;
  }
  if (name.includes("\0") || name.includes("=")) return "must not contain NUL or '='";
  const control = firstControlCharacter(name);
  if (control !== undefined) return `must not contain control, line-separator or bidi characters (found ${control})`;
  return undefined;
}
