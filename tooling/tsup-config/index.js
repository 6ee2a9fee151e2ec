/**
 * The shared tsup base. Each package spreads it in its own `tsup.config.ts`:
 *
 *   import { defineConfig } from "tsup";
 *   import { base } from "@clawft/tsup-config";
 *   export default defineConfig({ ...base, entry: ["src/index.ts"] });
 *
 * ESM only (Node >= 20.19 can `require()` ESM), declarations emitted by tsup's
 * TypeScript pass, targeting the oldest Node we support.
 * @type {import("tsup").Options}
 */
export const base = {
  entry: ["src/index.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: false,
  treeshake: true,
};
