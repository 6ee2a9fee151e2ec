import { defineConfig } from "tsup";
import { base } from "@clawft/tsup-config";

export default defineConfig({
  ...base,
  // `worker` is the plugin worker's entry, started by URL from `index` (dist/worker.js);
  // `load-worker` checks, transpiles and meters uncached components (dist/load-worker.js).
  entry: { index: "src/index.ts", worker: "src/runtime/worker.ts", "load-worker": "src/runtime/load-worker.ts" },
});
