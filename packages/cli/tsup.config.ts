import { defineConfig } from "tsup";
import { base } from "@clawft/tsup-config";

export default defineConfig({
  ...base,
  // `cli` is the `clawft-plugin` command (bin/clawft-plugin.js imports dist/cli.js);
  // `index` is the same CLI as a function (`runCli`), for tools that embed it.
  entry: { index: "src/index.ts", cli: "src/main.ts" },
});
