/**
 * wit-bindings bench: validating a plugin component at load time, against jco's
 * bare `componentWit` on the same bytes (the decoding that validation builds on).
 * Run with `pnpm --filter @clawft/wit-bindings bench`.
 */
import { componentWit } from "@bytecodealliance/jco";
import { writeBenchResults, type BenchRow } from "@clawft/test-utils";
import { buildFixture, buildJsExamplePlugin } from "@clawft/wasm-fixtures";
import { Bench } from "tinybench";
import { inspectComponent, parseDescribe, validatePluginComponent } from "../src/index.js";

const small = await buildFixture("host-calls");
const js = await buildJsExamplePlugin();
const describeJson = JSON.stringify({
  name: "bench",
  version: "1.0.0",
  tools: Array.from({ length: 20 }, (_, i) => ({
    name: `tool-${i}`,
    description: "a tool",
    parameters: { type: "object", properties: { a: { type: "string" } } },
  })),
});

const bench = new Bench({ time: 2000, warmupTime: 300 });
bench
  .add("componentWit host-calls (jco baseline)", async () => {
    await componentWit(small);
  })
  .add("validatePluginComponent host-calls", async () => {
    await validatePluginComponent(small);
  })
  .add("inspectComponent host-calls", async () => {
    await inspectComponent(small);
  })
  .add("componentWit js plugin 1.1 MB (jco baseline)", async () => {
    await componentWit(js);
  })
  .add("validatePluginComponent js plugin 1.1 MB", async () => {
    await validatePluginComponent(js);
  })
  .add("JSON.parse describe 20 tools (baseline)", () => {
    JSON.parse(describeJson);
  })
  .add("parseDescribe 20 tools", () => {
    parseDescribe(describeJson);
  });
await bench.run();

function meanUs(name: string): number {
  const task = bench.tasks.find((t) => t.name === name);
  const result = task?.result as { latency?: { mean: number } } | undefined;
  const mean = result?.latency?.mean;
  if (mean === undefined) throw new Error(`no result for ${name}`);
  return mean * 1000;
}

const rows: BenchRow[] = [
  {
    id: "validatePluginComponent host-calls (8 KB)",
    value: meanUs("validatePluginComponent host-calls"),
    unit: "us",
    baseline: meanUs("componentWit host-calls (jco baseline)"),
    target: 1.5,
  },
  {
    id: "inspectComponent host-calls (8 KB)",
    value: meanUs("inspectComponent host-calls"),
    unit: "us",
    baseline: meanUs("componentWit host-calls (jco baseline)"),
    target: 1.5,
  },
  {
    id: "validatePluginComponent js plugin (1.1 MB)",
    value: meanUs("validatePluginComponent js plugin 1.1 MB"),
    unit: "us",
    baseline: meanUs("componentWit js plugin 1.1 MB (jco baseline)"),
    target: 1.2,
  },
  {
    id: "parseDescribe 20 tools",
    value: meanUs("parseDescribe 20 tools"),
    unit: "us",
    baseline: meanUs("JSON.parse describe 20 tools (baseline)"),
    target: 3,
  },
];
writeBenchResults("wit-bindings", rows);
