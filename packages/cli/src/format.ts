import { escapeControlText, escapeJsonControlText } from "@clawft/sandbox-policy";

/** Renders rows as a fixed-width text table (no colours, safe for any terminal). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/**
 * Makes untrusted text (plugin names, descriptions, tool output, audit arguments) safe to print
 * on one line: `escapeControlText` from @clawft/sandbox-policy (control characters, ANSI escape
 * sequences, newlines, bidi controls become `\x1b`, `\n`, `\u202e`...), then cut to `max`
 * characters with `…`. Stops a plugin from rewriting the user's terminal (hiding a permission in
 * a consent prompt, faking output or a CLI error line) with escape codes or newlines in its
 * manifest, its results or its audit entries.
 */
export function safeText(text: string, max = 200): string {
  const clean = escapeControlText(text);
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * `JSON.stringify` for the terminal: the same JSON, with the characters JSON.stringify keeps
 * raw (DEL, C1 controls, bidi controls, U+2028/U+2029) written as `\uHHHH` escapes
 * (`escapeJsonControlText`), which every JSON parser reads back unchanged. Stops plugin text in
 * `--json` output from reordering or recolouring what the user sees.
 */
export function jsonText(value: unknown, indent?: number): string {
  return escapeJsonControlText(JSON.stringify(value, null, indent) ?? "null");
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Parses `--since`: an ISO date/time (`2026-11-25`, `2026-11-25T10:00:00Z`) or a duration back
 * from `now` (`90s`, `15m`, `2h`, `7d`). Returns epoch ms, or undefined when unparsable.
 */
export function parseSince(text: string, now: number): number | undefined {
  const rel = /^(\d+)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (rel) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[rel[2] as "s" | "m" | "h" | "d" | "w"];
    return now - Number(rel[1]) * unit;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const t = Date.parse(text.trim());
  return Number.isNaN(t) ? undefined : t;
}
