import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { AuditEvent } from "@clawft/sandbox-policy";

export interface AuditQuery {
  pluginId?: string;
  /** Only events at or after this time (epoch ms). Events without a timestamp are then left out. */
  since?: number;
  /** Only the last `limit` matching events. */
  limit?: number;
}

/** Longest audit line read; longer lines are skipped (a runaway writer cannot exhaust memory). */
const MAX_LINE = 64 * 1024;

function asEvent(value: unknown): AuditEvent | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const e = value as Record<string, unknown>;
  if (typeof e.pluginId !== "string" || typeof e.function !== "string" || typeof e.result !== "string") return undefined;
  if (typeof e.durationMs !== "number") return undefined;
  if (e.timestamp !== undefined && typeof e.timestamp !== "number") return undefined;
  const args = typeof e.args === "object" && e.args !== null ? (e.args as AuditEvent["args"]) : {};
  return { ...(e as unknown as AuditEvent), args };
}

/**
 * Reads the host's JSON Lines audit log (one `AuditEvent` per line), filtered. Lines that are
 * not an audit event are counted in `skipped`, never fatal (a log cut off by a crash still reads).
 */
export async function readAuditLog(
  path: string,
  query: AuditQuery = {},
): Promise<{ events: AuditEvent[]; skipped: number }> {
  const events: AuditEvent[] = [];
  let skipped = 0;
  const stream = createReadStream(path, { encoding: "utf8" });
  try {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === "") continue;
      if (line.length > MAX_LINE) {
        skipped++;
        continue;
      }
      let event: AuditEvent | undefined;
      try {
        event = asEvent(JSON.parse(line));
      } catch {
        event = undefined;
      }
      if (!event) {
        skipped++;
        continue;
      }
      if (query.pluginId !== undefined && event.pluginId !== query.pluginId) continue;
      if (query.since !== undefined && (event.timestamp === undefined || event.timestamp < query.since)) continue;
      events.push(event);
      if (query.limit !== undefined && events.length > query.limit) events.shift();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { events: [], skipped: 0 };
    throw error;
  } finally {
    stream.destroy();
  }
  return { events, skipped };
}
