import { defineConfig } from "tsup";
import { base } from "@clawft/tsup-config";

export default defineConfig({
  ...base,
  // "./core" (errors, audit types, defaults) has no zod; splitting shares its
  // classes with the main entry.
  entry: ["src/index.ts", "src/core.ts"],
  splitting: true,
  // Publish the manifest's JSON Schema next to the code (./manifest.schema.json export).
  onSuccess: "node scripts/write-schema.mjs",
});
