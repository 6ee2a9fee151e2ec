// Writes dist/manifest.schema.json from the built package (run by tsup's onSuccess).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const { manifestJsonSchema } = await import(new URL("../dist/index.js", import.meta.url).href);
const file = fileURLToPath(new URL("../dist/manifest.schema.json", import.meta.url));
writeFileSync(file, JSON.stringify(manifestJsonSchema, null, 2) + "\n");
console.log(`wrote ${file}`);
