/**
 * `@clawft/sandbox-policy`: everything in `@clawft/sandbox-policy/core` (one list, kept there)
 * plus the manifest schema and `PluginSandbox`, which load zod.
 */
export * from "./core.js";
export {
  parseManifest,
  parseManifestWithWarnings,
  stripManifestBom,
  manifestResources,
  manifestRuntime,
  manifestEntryFile,
  manifestJsonSchema,
  manifestSchema,
  ManifestError,
  PLUGIN_CAPABILITIES,
  PLUGIN_RUNTIMES,
  type PluginRuntime,
  type PluginManifest,
  type PluginCapability,
  type PluginPermissions,
  type PluginResources,
  type ManifestParseResult,
} from "./manifest.js";
export {
  PluginSandbox,
  type PluginSandboxOptions,
  type PluginSandboxOverrides,
} from "./sandbox.js";
