import { fileURLToPath } from "node:url";
import { createHost, type AuditEvent, type Host, type HostLogger, type HostOptions } from "@clawft/host";
import { buildFixture, type FixtureName } from "@clawft/wasm-fixtures";

/** Compiled components are cached on disk across test files (keyed by content + options). */
export const testCacheDir = fileURLToPath(new URL("../.cache/test-components", import.meta.url));

const fixtures = new Map<string, Promise<Uint8Array>>();

/** A component from @clawft/wasm-fixtures (built from WAT source; cached). */
export function fixture(name: FixtureName): Promise<Uint8Array> {
  let p = fixtures.get(name);
  if (!p) {
    p = buildFixture(name);
    fixtures.set(name, p);
  }
  return p;
}

export interface ManifestInput {
  network?: string[];
  filesystem?: string[];
  env_vars?: string[];
  shell?: boolean;
  resources?: Record<string, number>;
}

let seq = 0;

/** A valid manifest with the given permissions and resources. */
export function manifest(id: string, input: ManifestInput = {}): Record<string, unknown> {
  seq++;
  return {
    id,
    name: `test plugin ${seq}`,
    version: "1.0.0",
    capabilities: ["tool"],
    permissions: {
      network: input.network ?? [],
      filesystem: input.filesystem ?? [],
      env_vars: input.env_vars ?? [],
      shell: input.shell ?? false,
    },
    ...(input.resources ? { resources: input.resources } : {}),
  };
}

export interface LogLine {
  level: keyof HostLogger;
  message: string;
  pluginId: string;
}

/** A logger that records every line. */
export function recordingLogger(): HostLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: keyof HostLogger) =>
    (message: string, meta: { pluginId: string }): void => {
      lines.push({ level, message, pluginId: meta.pluginId });
    };
  return { lines, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug"), trace: at("trace") };
}

export interface TestHost {
  host: Host;
  events: AuditEvent[];
  logger: ReturnType<typeof recordingLogger>;
}

/** A host with an audit collector, a recording logger and the shared component cache. */
export function testHost(options: HostOptions = {}): TestHost {
  const events: AuditEvent[] = [];
  const logger = recordingLogger();
  const host = createHost({ cacheDir: testCacheDir, audit: (e) => events.push(e), logger, ...options });
  return { host, events, logger };
}

/** Resolves with the rejection of `p` (fails if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; [k: string]: unknown }> {
  let value: unknown;
  try {
    value = await p;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}
