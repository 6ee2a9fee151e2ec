// Loads a plugin, runs one call and never closes anything: the process must still exit.
import { readFileSync } from "node:fs";
import { createHost } from "@clawft/host";

const wasm = readFileSync(process.argv[2]);
const host = createHost({ cacheDir: process.argv[3] });
const plugin = await host.load({
  manifest: { id: "test.child.forgotten", name: "child", version: "1.0.0", capabilities: ["tool"] },
  wasm,
});
const result = await plugin.executeTool("echo", { hello: "child" });
process.stdout.write(`${JSON.stringify(result)}\n`);
