export {
  meterModule,
  METERING_IMPORT_MODULE,
  METERING_META_VERSION,
  SUPPORTED_FEATURES,
  type MeteringMeta,
  type MeteredLimits,
  type MeterResult,
  type WasmBytes,
} from "./meter-module.js";
export { METERING_LIMITS, type MeterOptions } from "./options.js";
export {
  FuelMeter,
  METERING_CHANNEL,
  type FuelMeterOptions,
  type MeteringImports,
  type FuelGlobal,
  type MeteringImportObject,
  type MeteringExhaustedEvent,
} from "./fuel-meter.js";
export { MeteringCache, type MeteringCacheOptions } from "./cache.js";
export {
  ResourceExhaustedError,
  MeteringError,
  RESOURCE_UNITS,
  type ResourceKind,
  type MeteringErrorCode,
  type ResourceExhaustedErrorOptions,
} from "./errors.js";
export type { InstrumentStats } from "./rewrite/instrument.js";
