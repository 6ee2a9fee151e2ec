import { defineConfig } from "tsup";
import { base } from "@clawft/tsup-config";

export default defineConfig({
  ...base,
  // `worker` is the plugin worker's entry, started by URL from `index` (dist/worker.js).
  entry: { index: "src/index.ts", worker: "src/runtime/worker.ts", cli: "src/cli/main.ts" },
});
