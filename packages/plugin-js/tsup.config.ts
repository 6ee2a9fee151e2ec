import { defineConfig } from "tsup";
import { base } from "@clawft/tsup-config";

export default defineConfig({ ...base, entry: ["src/index.ts"] });
