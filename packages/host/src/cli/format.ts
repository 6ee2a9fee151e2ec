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
 * Makes untrusted text (plugin names, descriptions, audit arguments) safe to print: control
 * characters, including ANSI escape sequences, become `\u…` escapes.
 * Stops a plugin from rewriting the user's terminal (hiding a permission in a consent prompt,
 * faking output) with escape codes in its manifest or its audit entries.
 */
export function safeText(text: string, max = 200): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
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
