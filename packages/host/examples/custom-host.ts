/**
 * A custom host composed from the individual clawft packages: the operator picks
 * each sandbox piece and its settings, instead of the defaults `createHost` builds.
 *
 * Run it: `pnpm --filter @clawft/host build && npx tsx packages/host/examples/custom-host.ts`
 *
 *  - files: a SandboxedFileSystem (@clawft/sandbox-fs) where the plugin's grant is
 *    read-write but a `config/` subtree inside it is read-only, and reads are capped at 64 KiB;
 *  - HTTP: a SandboxedHttpClient (@clawft/sandbox-http) with a 5 s timeout and a 256 KiB
 *    response cap, wrapped to count requests;
 *  - env: a fixed environment instead of process.env;
 *  - audit: every host call to a JSONL file (createJsonlAuditSink) and to the console;
 *  - consent: an approve callback that grants filesystem only.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createHost, createJsonlAuditSink, type AuditEvent, type HostLogger } from "@clawft/host";
import { SandboxedFileSystem } from "@clawft/sandbox-fs";
import { SandboxedHttpClient } from "@clawft/sandbox-http";
import { buildFixture } from "@clawft/wasm-fixtures";

export async function main(print: (line: string) => void = console.log): Promise<AuditEvent[]> {
  const work = await mkdtemp(join(tmpdir(), "clawft-custom-host-"));
  const data = join(work, "data");
  await mkdir(join(data, "config"), { recursive: true });
  await writeFile(join(data, "config", "settings.json"), '{"mode":"demo"}');

  const events: AuditEvent[] = [];
  const jsonl = createJsonlAuditSink(join(work, "audit.jsonl"));
  let httpRequests = 0;
  const logger: HostLogger = {
    error: (m, { pluginId }) => print(`[error] ${pluginId}: ${m}`),
    warn: (m, { pluginId }) => print(`[warn] ${pluginId}: ${m}`),
    info: (m, { pluginId }) => print(`[info] ${pluginId}: ${m}`),
    debug: () => undefined,
    trace: () => undefined,
  };

  const host = createHost({
    logger,
    audit: (event) => {
      events.push(event);
      jsonl(event);
    },
    // The operator's caps: no plugin gets more than 5 s or 8 MiB, whatever its manifest says.
    hardLimits: { maxExecutionSeconds: 5, maxMemoryMb: 8 },
    approve: ({ pluginId, permissions }) => {
      print(`consent for ${pluginId}: ${JSON.stringify(permissions)}`);
      return permissions.network.length === 0 && permissions.env_vars.length === 0 && !permissions.shell;
    },
    sandbox: {
      env: { GREETING: "hello from a fixed environment" },
      createFileSystem: (ctx) =>
        SandboxedFileSystem.create({
          allowedPaths: ctx.filesystem,
          readOnlyPaths: ctx.filesystem.map((p) => join(p, "config")),
          maxReadBytes: 64 * 1024,
        }),
      createHttpClient: (ctx) => {
        const client = new SandboxedHttpClient({
          pluginId: ctx.pluginId,
          pluginVersion: ctx.version,
          network: ctx.network,
          maxRequestsPerMinute: ctx.resources.maxHttpRequestsPerMinute,
          maxResponseBytes: 256 * 1024,
          timeoutMs: 5_000,
        });
        return {
          request: (req) => {
            httpRequests++;
            return client.request(req);
          },
          close: () => client.close(),
        };
      },
    },
  });

  try {
    const plugin = await host.load({
      manifest: {
        id: "dev.clawft.example-custom",
        name: "custom host example",
        version: "1.0.0",
        capabilities: ["tool"],
        permissions: { filesystem: [data], env_vars: ["GREETING"] },
      },
      wasm: await buildFixture("host-calls"),
      // Pre-approved (e.g. from a stored consent): approve() is asked only for the rest.
      approvals: { env_vars: ["GREETING"] },
    });
    print(`tools: ${plugin.describe().tools.map((t) => t.name).join(", ")}`);
    print(`read config: ${JSON.stringify(await plugin.executeTool("read", ["config/settings.json"]))}`);
    print(`write note: ${String(await plugin.executeTool("write", ["note.txt", "written through the custom fs"]))}`);
    const refused = await plugin.executeTool("write", ["config/settings.json", "{}"]).catch((e: Error) => e.message);
    print(`write config: ${String(refused)}`);
    const noNet = await plugin.executeTool("http", ["GET", "https://example.com/"]).catch((e: Error) => e.message);
    print(`http: ${String(noNet)} (requests that reached the client: ${httpRequests})`);
    print(`env: ${String(await plugin.executeTool("env", ["GREETING"]))}`);
    await plugin.executeTool("log", [2, "a log line from the guest"]);
    print(`usage of the last call: ${JSON.stringify(plugin.usage)}`);
    print(`note on disk: ${await readFile(join(data, "note.txt"), "utf8")}`);
    print(`audit trail: ${events.map((e) => `${e.function}:${e.result}${e.code ? `(${e.code})` : ""}`).join(" ")}`);
  } finally {
    await host.close();
    jsonl.close();
    await rm(work, { recursive: true, force: true });
  }
  return events;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main();
}
