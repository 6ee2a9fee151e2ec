import type { InstrumentStats } from "./rewrite/instrument.js";

/** The import module name under which metered modules import the metering runtime. */
export const METERING_IMPORT_MODULE = "clawft:metering";

/**
 * Version of the contract between a metered module and the runtime (the
 * imports of {@link MeteringMeta}): bumped when a runtime of another version
 * could not run the module.
 */
export const METERING_META_VERSION = 2;

/**
 * Revision of the instrumentation itself (where and how fuel is charged).
 * Part of the cache key, so a new revision re-instruments cached modules.
 */
export const INSTRUMENTATION_REVISION = 6;

/** One memory or table of a metered module, after the caps were applied. */
export interface MeteredLimits {
  imported: boolean;
  /** Initial size (pages for memories, elements for tables). */
  initial: number;
  /** Maximum after capping (pages for memories, elements for tables). */
  max: number;
}

/**
 * What the host needs to know about a metered module. Plain JSON: it is
 * stored next to the bytes in the {@link MeteringCache}.
 */
export interface MeteringMeta {
  version: number;
  /** The module name the metered module imports the runtime from. */
  importModule: string;
  /** The fields it imports from `importModule` (a subset of `fuel`, `out_of_fuel`, `memory_grow`, `table_grow`). */
  imports: string[];
  fuel: boolean;
  maxMemoryBytes: number;
  maxTableElements: number;
  memories: MeteredLimits[];
  tables: MeteredLimits[];
  stats: InstrumentStats;
}
