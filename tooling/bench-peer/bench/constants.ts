/** The name both sides' `env` loops ask the host for. */
export const BENCH_VAR = "BENCH_VAR";

/** The sides of every row: clawft, and the two Extism JS SDK releases it is compared with. */
export type SideName = "clawft" | "extism-1.0.3" | "extism-2.0.0-rc13";
export const EXTISM_SIDES = ["extism-1.0.3", "extism-2.0.0-rc13"] as const satisfies readonly SideName[];
export type ExtismSide = (typeof EXTISM_SIDES)[number];
