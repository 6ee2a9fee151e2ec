import { access, readFile, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { gzipSync } from "node:zlib";
import { ClawftError, manifestEntryFile, manifestRuntime, parseManifestWithWarnings, SANDBOX_DEFAULTS } from "@clawft/sandbox-policy";

/** Source files `build` looks for, in this order, when no `--entry` is given. */
export const DEFAULT_ENTRIES = Object.freeze(["src/plugin.ts", "src/plugin.js", "src/index.ts", "src/index.js"]);

export interface BuildOptions {
  /**
   * The plugin's source entry, relative to the folder.
   * @default the first of src/plugin.ts, src/plugin.js, src/index.ts, src/index.js that exists
   */
  entry?: string;
  /**
   * Minify the bundle (smaller; stack traces name minified functions).
   * @default false
   */
  minify?: boolean;
}

export interface BuildResult {
  /** Absolute path of the plugin folder (installable: manifest + bundle). */
  dir: string;
  /** The source entry bundled, relative to `dir`. */
  entry: string;
  /** The bundle written (the manifest's `main`), relative to `dir`. */
  main: string;
  bytes: number;
  gzipBytes: number;
  /** esbuild's warnings, one line each. */
  warnings: string[];
}

/** A `clawft-plugin build` refusal: not a JS plugin, no entry, or the bundler's errors. */
export class BuildError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.BuildError");

  constructor(code: "CLI_BUILD_FAILED" | "CLI_BUILD_NOT_JS", message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "BuildError";
  }
}

/**
 * Bundles a JS/TS plugin into the one CommonJS file its manifest's `main` names, so the folder
 * becomes installable (`clawft-plugin install <dir>` takes the manifest, `main` and a signature).
 * esbuild, loaded only here: `--bundle --format=cjs --platform=neutral --external:host`. The
 * bundle may import nothing but `host` (the clawft:plugin world's import): Node built-ins and
 * anything else unresolved fail the build here rather than at load.
 */
export async function buildPlugin(dir: string, options: BuildOptions = {}): Promise<BuildResult> {
  const root = await realpath(resolve(dir)).catch((cause: unknown) => {
    throw new BuildError("CLI_BUILD_FAILED", `plugin folder not found: ${resolve(dir)}`, { cause });
  });
  const manifestPath = join(root, "clawft.plugin.json");
  const text = await readFile(manifestPath, "utf8").catch((cause: unknown) => {
    throw new BuildError("CLI_BUILD_FAILED", `no clawft.plugin.json in ${root} (build takes the plugin folder)`, { cause });
  });
  const { manifest } = parseManifestWithWarnings(text);
  const main = manifestEntryFile(manifest);
  if (manifestRuntime(manifest) !== "js" || main === undefined) {
    throw new BuildError(
      "CLI_BUILD_NOT_JS",
      `build bundles JS/TS plugins only: ${manifestPath} needs "runtime": "js" and "main" (a component plugin is built by its own toolchain)`,
    );
  }
  const outfile = resolve(root, main);
  // The bundle is written inside the plugin folder, never over a file elsewhere.
  if (isAbsolute(main) || !outfile.startsWith(root + sep)) {
    throw new BuildError("CLI_BUILD_FAILED", `main must be a path inside the plugin folder: ${main}`);
  }
  const entry = options.entry ?? (await firstExisting(root, DEFAULT_ENTRIES));
  if (entry === undefined) {
    throw new BuildError("CLI_BUILD_FAILED", `no source entry in ${root}: none of ${DEFAULT_ENTRIES.join(", ")} exists (pass --entry <file>)`);
  }
  const entryPath = resolve(root, entry);
  if (!(await stat(entryPath).then((s) => s.isFile(), () => false))) {
    throw new BuildError("CLI_BUILD_FAILED", `source entry not found: ${entryPath}`);
  }

  const esbuild = await import("esbuild");
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [entryPath],
      outfile,
      bundle: true,
      format: "cjs",
      platform: "neutral",
      // `platform: neutral` resolves no package.json "main" by default; plugin dependencies
      // published for bundlers or Node use these fields.
      mainFields: ["module", "main"],
      conditions: ["import", "require", "default"],
      external: ["host"],
      target: "es2022",
      minify: options.minify === true,
      legalComments: "none",
      logLevel: "silent",
      absWorkingDir: root,
      write: true,
    });
  } catch (error) {
    const failure = error as { errors?: { text: string; location?: { file: string; line: number } | null }[] };
    const lines = (failure.errors ?? []).map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text));
    throw new BuildError("CLI_BUILD_FAILED", `build failed: ${lines.length > 0 ? lines.join("; ") : (error as Error).message}`, {
      cause: error,
    });
  }
  const bundle = await readFile(outfile);
  return {
    dir: root,
    entry: relative(root, entryPath),
    main: relative(root, outfile),
    bytes: bundle.length,
    gzipBytes: gzipSync(bundle).length,
    warnings: result.warnings.map((w) => (w.location ? `${w.location.file}:${w.location.line}: ${w.text}` : w.text)),
  };
}

/** The default install limits a bundle is measured against (`--max-module-*` raise them). */
export const DEFAULT_LIMITS = Object.freeze({ bytes: SANDBOX_DEFAULTS.moduleBytes, gzipBytes: SANDBOX_DEFAULTS.moduleGzipBytes });

async function firstExisting(root: string, candidates: readonly string[]): Promise<string | undefined> {
  for (const c of candidates) {
    if (await access(join(root, c)).then(() => true, () => false)) return c;
  }
  return undefined;
}
