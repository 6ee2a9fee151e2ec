/**
 * `pnpm demo`: a small clawft host on the embedded defaults.
 *
 * It starts a JSON API on 127.0.0.1 (the only network this demo ever touches: the
 * network guard from @clawft/test-utils makes anything else throw), a temporary
 * sandbox folder, loads the JS example plugin and two WAT plugins, runs tools that
 * succeed and tools that the sandbox refuses, and prints the results and the audit
 * trail.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AuditEvent, createHost, PluginError, ResourceExhaustedError } from "@clawft/host";
import { createTempDir, installNetworkGuard, startLoopbackServer } from "@clawft/test-utils";
import { buildFixture, buildJsExamplePlugin } from "@clawft/wasm-fixtures";

installNetworkGuard();

const API_HOST = "api.demo.test";
const server = await startLoopbackServer((req, res) => {
  res.setHeader("content-type", "application/json");
  if (req.url === "/forecast") {
    res.end(JSON.stringify({ city: "Oslo", days: [{ t: -2 }, { t: 1 }, { t: 3 }], unit: "C" }));
  } else {
    res.statusCode = 404;
    res.end('{"error":"not found"}');
  }
});
const sandboxDir = await createTempDir("clawft-demo-");
await mkdir(join(sandboxDir.path, "notes"));
await writeFile(join(sandboxDir.path, "notes", "todo.txt"), "buy milk\nwrite plugin\nship it\n");
process.env.EXAMPLE_GREETING = "Hei";
process.env.OPENAI_API_KEY = "sk-demo-this-must-never-reach-a-plugin";

const audit: AuditEvent[] = [];
const logs: string[] = [];
const log = (level: string) => (message: string, meta: { pluginId: string }) => logs.push(`${level.padEnd(5)} ${meta.pluginId}: ${message}`);
const host = createHost({
  audit: (event) => audit.push(event),
  logger: { error: log("error"), warn: log("warn"), info: log("info"), debug: log("debug"), trace: log("trace") },
  // Operator overrides: the demo's "public" API lives on loopback.
  resolve: async (name) => (name === API_HOST ? ["127.0.0.1"] : []),
  allowPrivateCidrs: ["127.0.0.1/32"],
  // The JS plugin (QuickJS inside) is about 1.1 MB: raise the module limits for it.
  maxModuleBytes: 2 * 1024 * 1024,
  maxModuleGzipBytes: 1024 * 1024,
  approve: ({ pluginId, permissions }) => {
    logs.push(`consent ${pluginId}: approved ${JSON.stringify(permissions)}`);
    return true;
  },
});

const baseUrl = `http://${API_HOST}:${server.port}`;
const grants = {
  network: [API_HOST],
  filesystem: [join(sandboxDir.path, "notes")],
  env_vars: ["EXAMPLE_GREETING"],
  shell: false,
};
const manifest = (id: string, name: string, extra: object = {}) => ({
  id,
  name,
  version: "0.1.0",
  capabilities: ["tool"],
  permissions: grants,
  ...extra,
});

interface Row {
  plugin: string;
  tool: string;
  expect: "ok" | "refused";
  outcome: string;
}
const rows: Row[] = [];
async function run(plugin: { id: string; executeTool(name: string, params: unknown): Promise<unknown> }, tool: string, params: unknown, expect: Row["expect"]) {
  let outcome: string;
  try {
    const result = await plugin.executeTool(tool, params);
    outcome = `ok: ${JSON.stringify(result).slice(0, 90)}`;
  } catch (error) {
    if (ResourceExhaustedError.isInstance(error)) outcome = `${error.code} (${error.kind}): ${error.message}`;
    else if (PluginError.isInstance(error)) outcome = `${error.code}: ${error.message.slice(0, 90)}`;
    else outcome = `unexpected: ${String(error)}`;
  }
  rows.push({ plugin: plugin.id, tool: `${tool} ${JSON.stringify(params)}`.slice(0, 60), expect, outcome });
}

try {
  const watPlugin = await host.load({ manifest: manifest("dev.clawft.demo.host-calls", "Host calls"), wasm: await buildFixture("host-calls") });
  const looper = await host.load({
    manifest: manifest("dev.clawft.demo.looper", "Infinite loop", { permissions: { network: [], filesystem: [], env_vars: [], shell: false } }),
    wasm: await buildFixture("infinite-loop"),
  });
  let jsPlugin: Awaited<ReturnType<typeof host.load>> | undefined;
  try {
    jsPlugin = await host.load({
      manifest: manifest("dev.clawft.example-js-plugin", "Example JS plugin", { resources: { max_memory_mb: 64 } }),
      wasm: await buildJsExamplePlugin(),
    });
  } catch (error) {
    rows.push({ plugin: "dev.clawft.example-js-plugin", tool: "(load)", expect: "ok", outcome: `not loaded: ${String(error)}` });
  }

  if (jsPlugin) {
    await run(jsPlugin, "summarize-json", { url: `${baseUrl}/forecast` }, "ok");
    await run(jsPlugin, "write-note", { path: join(sandboxDir.path, "notes", "hello.txt"), text: "written by a plugin" }, "ok");
    await run(jsPlugin, "read-file", { path: join(sandboxDir.path, "notes", "todo.txt") }, "ok");
    await run(jsPlugin, "greet", { name: "Ada" }, "ok");
    await run(jsPlugin, "summarize-json", { url: "http://169.254.169.254/latest/meta-data/" }, "refused");
  }
  await run(watPlugin, "http", ["GET", `${baseUrl}/forecast`], "ok");
  await run(watPlugin, "read", [join(sandboxDir.path, "notes", "todo.txt")], "ok");
  await run(watPlugin, "http", ["GET", "http://10.0.0.1/admin"], "refused");
  await run(watPlugin, "http", ["GET", "https://evil.example.net/"], "refused");
  await run(watPlugin, "read", ["/etc/passwd"], "refused");
  await run(watPlugin, "read", [`${sandboxDir.path}/notes/../../../etc/passwd`], "refused");
  await run(watPlugin, "env", ["OPENAI_API_KEY"], "refused");
  await run(watPlugin, "env", ["EXAMPLE_GREETING"], "ok");
  await run(looper, looper.describe().tools[0]?.name ?? "loop", [], "refused");

  console.log("\nclawft demo: plugins in a sandbox\n");
  console.log(`${"plugin".padEnd(30)} ${"tool and params".padEnd(62)} outcome`);
  for (const r of rows) console.log(`${r.plugin.padEnd(30)} ${r.tool.padEnd(62)} ${r.outcome}`);
  console.log("\n(the get-env of OPENAI_API_KEY answers none: denied and unset look the same to a plugin)");

  console.log(`\naudit trail (${audit.length} host calls):`);
  for (const e of audit) {
    console.log(`  ${e.pluginId.padEnd(30)} ${e.function.padEnd(12)} ${e.result.padEnd(8)} ${(e.code ?? "").padEnd(22)} ${e.durationMs.toFixed(2).padStart(8)} ms  ${JSON.stringify(e.args).slice(0, 80)}`);
  }
  console.log(`\nplugin logs and host messages:`);
  for (const line of logs) console.log(`  ${line.slice(0, 150)}`);
  console.log(`\nthe loopback API server saw ${server.requests.length} request(s); nothing else was contacted.`);
} finally {
  await host.close();
  await server.close();
  await sandboxDir.cleanup();
}
