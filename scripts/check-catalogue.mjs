#!/usr/bin/env node
/**
 * Checks docs/security-catalogue.md against the test suites: every row names at
 * least one unit test file (outside the end-to-end folders) and one end-to-end file
 * (in packages/host/test/, or packages/cli/test/ for tests through the built
 * `clawft-plugin` binary), each named file holds a test whose title starts with
 * the row's ID, and every ID that a test title uses has a row. A catalogue row
 * whose tests were renamed, moved or deleted fails the lint step.
 *
 * Usage: node scripts/check-catalogue.mjs   (exit 1 with one line per problem)
 */
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const doc = readFileSync(join(root, "docs/security-catalogue.md"), "utf8");
/** End-to-end folders: the host through real components, and the built CLI binary. */
const E2E_DIRS = ["packages/host/test/", "packages/cli/test/"];
const isE2e = (f) => E2E_DIRS.some((dir) => f.startsWith(dir));
const problems = [];

/** `it("T17 ...")`, `test('T17: ...')`, `it.each(...)("T17 ...")`, `it(\`T17 ...\`)`. */
function titled(id) {
  return new RegExp(`(?:\\bit|\\btest|\\bdescribe)(?:\\.\\w+)*(?:\\([^)]*\\))?\\(\\s*["'\`]${id}[\\s:]`);
}

function testFiles(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) testFiles(path, out);
    else if (/\.test\.m?ts$/.test(entry.name)) out.push(relative(root, path));
  }
  return out;
}

const rows = new Map();
for (const line of doc.split("\n")) {
  const m = /^\|\s*(T\d{2,3})\s*\|/.exec(line);
  if (!m) continue;
  const id = m[1];
  if (rows.has(id)) problems.push(`${id}: two rows`);
  const cells = line.split("|").slice(1, -1).map((c) => c.trim());
  const paths = (cell) => [...(cell ?? "").matchAll(/`([^`]+\.test\.m?ts)`/g)].map((x) => x[1]);
  rows.set(id, { unit: paths(cells.at(-2)), e2e: paths(cells.at(-1)) });
}

const files = [...testFiles(join(root, "packages")), ...testFiles(join(root, "tooling"))];
const sources = new Map(files.map((f) => [f, readFileSync(join(root, f), "utf8")]));

for (const [id, { unit, e2e }] of rows) {
  if (unit.length === 0) problems.push(`${id}: no unit test file named`);
  if (e2e.length === 0) problems.push(`${id}: no end-to-end test file named`);
  for (const f of unit) if (isE2e(f)) problems.push(`${id}: ${f} is an end-to-end file, listed as unit`);
  for (const f of e2e) if (!isE2e(f)) problems.push(`${id}: ${f} is not under ${E2E_DIRS.join(" or ")}`);
  for (const f of [...unit, ...e2e]) {
    if (!existsSync(join(root, f))) problems.push(`${id}: ${f} does not exist`);
    else if (!titled(id).test(sources.get(f) ?? readFileSync(join(root, f), "utf8"))) {
      problems.push(`${id}: ${f} has no test titled "${id} ..."`);
    }
  }
}

// Every ID a test title uses must have a row (no test claims an attack the catalogue does not list).
const used = new Set();
for (const text of sources.values()) {
  for (const m of text.matchAll(/(?:\bit|\btest|\bdescribe)(?:\.\w+)*(?:\([^)]*\))?\(\s*["'`](T\d{2,3})[\s:]/g)) used.add(m[1]);
}
for (const id of [...used].sort()) if (!rows.has(id)) problems.push(`${id}: used in test titles but has no row in docs/security-catalogue.md (add a row naming its unit and end-to-end test files)`);

if (problems.length > 0) {
  for (const p of problems) console.error(`security catalogue: ${p}`);
  process.exit(1);
}
console.log(`security catalogue: ${rows.size} rows, each with unit and end-to-end tests`);
