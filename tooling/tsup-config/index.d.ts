import type { Options } from "tsup";
export declare const base: Options;
