import { fileURLToPath } from "node:url";
import { createHost, type AuditEvent, type Host, type HostLogger, type HostOptions } from "@clawft/host";
import { buildFixture, componentFromWat, fixtureSources, type FixtureName } from "@clawft/wasm-fixtures";

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

function watString(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    if (byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c) out += String.fromCharCode(byte);
    else out += "\\" + byte.toString(16).padStart(2, "0");
  }
  return out;
}

/**
 * A fixture whose `describe()` declares the tool names its code dispatches on
 * (the host refuses undeclared tools with PLUGIN_UNKNOWN_TOOL; some fixtures only
 * declare a generic `run`). Built with the fixture package's own sources and
 * builder: only the describe JSON in the composed WAT is replaced.
 */
export function fixtureWithTools(name: FixtureName, tools: string[]): Promise<Uint8Array> {
  const key = `${name}:${tools.join(",")}`;
  let p = fixtures.get(key);
  if (!p) {
    p = (async () => {
      const src = await fixtureSources(name);
      const describe = JSON.stringify({
        name,
        version: "0.1.0",
        tools: tools.map((t) => ({ name: t, description: `${name} ${t}`, parameters: { type: "object" } })),
      });
      const lenRe = /\(global \$DESCRIBE_LEN i32 \(i32\.const \d+\)\)/;
      const at = src.wat.search(lenRe);
      if (at < 0) throw new Error(`cannot find the describe data of ${name}`);
      const head = src.wat.slice(0, at);
      // The describe JSON is the data segment right after $DESCRIBE_LEN.
      const tail = src.wat
        .slice(at)
        .replace(lenRe, `(global $DESCRIBE_LEN i32 (i32.const ${Buffer.byteLength(describe)}))`)
        .replace(/\(data \(i32\.const (\d+)\) "[^"]*"\)/, (_m, off: string) => `(data (i32.const ${off}) "${watString(describe)}")`);
      const wat = head + tail;
      return componentFromWat(wat, src.wit, src.world);
    })();
    fixtures.set(key, p);
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
export type Rejection = Error & { code?: string; kind?: string; limit?: number; used?: number; cause?: unknown };

export async function rejection(p: Promise<unknown>): Promise<Rejection> {
  let value: unknown;
  try {
    value = await p;
  } catch (error) {
    return error as Rejection;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}

/**
 * A fixture whose `init()` returns `err("unknown tool")` (the builder's default
 * init is swapped for the prelude's err helper): for PLUGIN_INIT_FAILED.
 */
export async function fixtureWithFailingInit(name: FixtureName): Promise<Uint8Array> {
  const src = await fixtureSources(name);
  const init = "(func $init (result i32) (call $ok_unit))";
  if (!src.wat.includes(init)) throw new Error(`${name} has no default init to replace`);
  return componentFromWat(src.wat.replace(init, "(func $init (result i32) (call $unknown_tool))"), src.wit, src.world);
}
