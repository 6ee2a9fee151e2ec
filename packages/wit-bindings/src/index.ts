export { witSource, pluginWorld, type PluginWorld } from "./world.js";
export type { HostImports, PluginExports, PluginImportObject, PluginInstanceExports } from "./types.js";
export {
  inspectComponent,
  wasmKind,
  type ComponentInspection,
  type ComponentItem,
  type InspectOptions,
} from "./inspect.js";
export {
  scanComponent,
  resolveComponentLimits,
  DEFAULT_COMPONENT_LIMITS,
  type ComponentLimits,
  type ResolvedComponentLimits,
  type ComponentScan,
} from "./scan.js";
export {
  validatePluginComponent,
  JS_ENGINE_EXPORT,
  assertPluginComponent,
  type PluginVerdict,
  type ValidateOptions,
} from "./validate.js";
export {
  parseDescribe,
  type PluginDescription,
  type ToolDescription,
  type JsonSchemaObject,
  type ParseDescribeOptions,
} from "./describe.js";
export {
  WitValidationError,
  DescribeError,
  WitOptionsError,
  type WitErrorCode,
  type WitIssue,
  type WitValidationErrorOptions,
} from "./errors.js";
export {
  parseWit,
  normalizeWitType,
  WitSyntaxError,
  type WitDocument,
  type WitPackage,
  type WitWorld,
  type WitWorldItem,
  type WitInterface,
  type WitFunction,
  type WitParam,
} from "./wit-text.js";
