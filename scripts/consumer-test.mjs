#!/usr/bin/env node
// The consumer test: what a new user meets. Packs every non-private package under
// packages/ (pnpm pack, so workspace: and catalog: ranges are rewritten as published),
// installs the tarballs with npm into a temp project outside the workspace, then
//   (a) imports each package by its published name,
//   (b) type-checks a file importing each package with `tsc --noEmit`, moduleResolution
//       nodenext and bundler, skipLibCheck false, only @types/node (no DOM lib),
//   and measures the install footprint of @clawft/host alone (with the @clawft packages it
//   depends on): at most 20 packages, at most 120 MB, and no native binary that npm's
//   `--omit=optional` would not leave out (fails when over).
// Needs the workspace built (`pnpm build`). Exits non-zero on the first failure.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const LIMITS = { packages: 20, bytes: 120 * 1000 * 1000 };

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const step = (text) => console.log(`\n--- ${text}`);

function publicPackages() {
  const out = [];
  for (const name of readdirSync(join(root, "packages")).sort()) {
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8"));
    } catch {
      continue;
    }
    if (pkg.private) continue;
    out.push({ dir: join(root, "packages", name), name: pkg.name, pkg });
  }
  return out;
}

function dirSize(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += dirSize(p);
    else if (entry.isFile()) total += statSync(p).size;
  }
  return total;
}

function findFiles(dir, test, found = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) findFiles(p, test, found);
    else if (test(entry.name)) found.push(p);
  }
  return found;
}

function npmInstall(project, specs) {
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "clawft-consumer", private: true, type: "module" }, null, 2));
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...specs], project);
}

const work = mkdtempSync(join(tmpdir(), "clawft-consumer-"));
let failed = false;
try {
  const packages = publicPackages();
  step(`pack ${packages.map((p) => p.name).join(", ")}`);
  const tarballs = join(work, "tarballs");
  mkdirSync(tarballs);
  const tarballOf = new Map();
  for (const p of packages) {
    const out = run("pnpm", ["pack", "--pack-destination", tarballs], p.dir).trim().split("\n").pop();
    tarballOf.set(p.name, out.startsWith("/") ? out : join(tarballs, out));
  }

  step("install every tarball (npm) in a fresh project");
  const all = join(work, "all");
  mkdirSync(all);
  npmInstall(all, [...tarballOf.values(), "typescript@~5.9", "@types/node@20"]);

  step("(a) import each package by its published name");
  for (const p of packages) {
    run(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(p.name)})`], all);
    console.log(`ok  import ${p.name}`);
  }

  step("(b) tsc --noEmit, moduleResolution nodenext and bundler, skipLibCheck false, only @types/node");
  const lines = packages.map((p, i) => `import * as m${i} from ${JSON.stringify(p.name)};\nvoid m${i};`);
  writeFileSync(join(all, "consumer.ts"), `${lines.join("\n")}\n`);
  for (const [module, resolution] of [
    ["nodenext", "nodenext"],
    ["esnext", "bundler"],
  ]) {
    const tsconfig = {
      compilerOptions: {
        target: "es2022",
        module,
        moduleResolution: resolution,
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        lib: ["es2023"],
        types: ["node"],
      },
      files: ["consumer.ts"],
    };
    writeFileSync(join(all, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    try {
      run(join(all, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], all);
      console.log(`ok  tsc (${resolution})`);
    } catch (error) {
      failed = true;
      console.log(`FAIL tsc (${resolution}):\n${error.stdout ?? ""}${error.stderr ?? ""}`);
    }
  }

  step("install footprint of @clawft/host alone");
  const hostOnly = join(work, "host-only");
  mkdirSync(hostOnly);
  const hostDeps = Object.keys(packages.find((p) => p.name === "@clawft/host").pkg.dependencies ?? {}).filter((d) => tarballOf.has(d));
  npmInstall(hostOnly, [tarballOf.get("@clawft/host"), ...hostDeps.map((d) => tarballOf.get(d))]);
  const lock = JSON.parse(readFileSync(join(hostOnly, "package-lock.json"), "utf8"));
  // The lockfile also lists other platforms' optional packages, which npm does not install.
  const installed = Object.entries(lock.packages).filter(([path]) => path.startsWith("node_modules/") && existsSync(join(hostOnly, path)));
  const bytes = dirSize(join(hostOnly, "node_modules"));
  const natives = findFiles(join(hostOnly, "node_modules"), (n) => n.endsWith(".node"));
  const requiredNatives = natives.filter((file) => {
    const rel = relative(hostOnly, file);
    const owner = installed.filter(([path]) => rel.startsWith(`${path}/`)).sort((a, b) => b[0].length - a[0].length)[0];
    return !owner?.[1].optional;
  });
  console.log(
    `@clawft/host: ${installed.length} packages, ${(bytes / 1e6).toFixed(1)} MB, ${natives.length} native binaries (optional, never loaded: ${natives
      .map((f) => relative(join(hostOnly, "node_modules"), f))
      .join(", ") || "none"})`,
  );
  if (installed.length > LIMITS.packages) {
    failed = true;
    console.log(`FAIL more than ${LIMITS.packages} packages: ${installed.map(([path]) => path.replace(/^.*node_modules\//, "")).join(" ")}`);
  }
  if (bytes > LIMITS.bytes) {
    failed = true;
    console.log(`FAIL more than ${LIMITS.bytes / 1e6} MB`);
  }
  if (requiredNatives.length > 0) {
    failed = true;
    console.log(`FAIL native binaries that are not optional: ${requiredNatives.join(", ")}`);
  }
} catch (error) {
  failed = true;
  console.log(`FAIL ${error.message}\n${error.stdout ?? ""}${error.stderr ?? ""}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(failed ? "\nconsumer test: FAILED" : "\nconsumer test: ok");
process.exit(failed ? 1 : 0);
