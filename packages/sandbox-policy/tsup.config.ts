import { defineConfig } from "tsup";
import { base } from "@clawft/tsup-config";

export default defineConfig({
  ...base,
  entry: ["src/index.ts"],
  // Publish the manifest's JSON Schema next to the code (./manifest.schema.json export).
  onSuccess: "node scripts/write-schema.mjs",
});
