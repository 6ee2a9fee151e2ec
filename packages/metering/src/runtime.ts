/**
 * `@clawft/metering/runtime`: the runtime side only (FuelMeter and the
 * errors), without the rewriter, for processes that run metered modules but never
 * instrument one (e.g. a plugin worker). Same classes as the main entry.
 */
export { METERING_IMPORT_MODULE, METERING_META_VERSION, type MeteringMeta, type MeteredLimits } from "./meta.js";
export {
  FuelMeter,
  METERING_CHANNEL,
  type FuelMeterOptions,
  type MeteringImports,
  type FuelGlobal,
  type MeteringImportObject,
  type MeteringExhaustedEvent,
} from "./fuel-meter.js";
export {
  ResourceExhaustedError,
  MeteringError,
  RESOURCE_UNITS,
  type ResourceKind,
  type MeteringErrorCode,
  type ResourceExhaustedErrorOptions,
} from "./errors.js";
export type { InstrumentStats } from "./rewrite/instrument.js";
