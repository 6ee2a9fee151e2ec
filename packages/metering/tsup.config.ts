import { defineConfig } from "tsup";
import { base } from "@clawft/tsup-config";

// Two entries: "." (everything) and "./runtime" (FuelMeter and the errors,
// without the rewriter). Splitting puts the shared code in one chunk, so both
// entries hand out the same classes.
export default defineConfig({ ...base, entry: ["src/index.ts", "src/runtime.ts"], splitting: true });
