import { ClawftError, type ClawftErrorOptions } from "@clawft/sandbox-policy/core";

/** Every code a `WitValidationError` (and a verdict's `errors`) can carry. */
export type WitErrorCode =
  /** Not a WebAssembly component: empty, garbage, or a core module. */
  | "WIT_NOT_A_COMPONENT"
  /** A component preamble, but jco cannot decode it. */
  | "WIT_INVALID_COMPONENT"
  /** Larger than `maxBytes`. */
  | "WIT_TOO_LARGE"
  /** Types or structure over the scanner's limits (`limits`), found before any code generation. */
  | "WIT_TOO_COMPLEX"
  /** The `plugin` export, or one of its functions, is missing. */
  | "WIT_MISSING_EXPORT"
  /** An export of the world has the wrong type (a function where an interface is expected, a wrong signature). */
  | "WIT_WRONG_EXPORT_TYPE"
  /** An export besides the world's `plugin` interface (and componentize-qjs's top-level `init: func()`), or an extra function in `plugin`. */
  | "WIT_UNKNOWN_EXPORT"
  /** A core module imports a `host` function that the component's own `host` import does not declare (so it cannot be lowered from it). */
  | "WIT_UNWIRED_HOST_IMPORT"
  /** An import other than the `host` interface of the world with the right function types (and `wasi:*` unless allowed). */
  | "WIT_FORBIDDEN_IMPORT";

/** One problem found in a component. */
export interface WitIssue {
  readonly code: WitErrorCode;
  /** Starts with the code's fixed text (see README), then names the import or export. */
  readonly message: string;
  /** The import or export concerned, e.g. `host.get-env`, `plugin.describe`, `wasi:cli/environment@0.2.3`. */
  readonly item?: string;
}

export interface WitValidationErrorOptions extends ClawftErrorOptions {
  issues?: readonly WitIssue[];
}

/** A component that does not fit the clawft:plugin world (or is not a component). */
export class WitValidationError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.WitValidationError");

  /** Every problem found (the error's own `code` and `message` are the first one's). */
  readonly issues: readonly WitIssue[];

  constructor(code: WitErrorCode, message: string, options: WitValidationErrorOptions = {}) {
    super(code, message, options);
    this.name = "WitValidationError";
    this.issues = Object.freeze([...(options.issues ?? [{ code, message }])]);
  }
}

/** `describe()` output that is not the JSON this world asks for. Code `WIT_INVALID_DESCRIBE`. */
export class DescribeError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.DescribeError");

  /** The field at fault, as a path: `tools[1].name`; `""` for the whole document. */
  readonly field: string;

  constructor(field: string, message: string, options: ClawftErrorOptions = {}) {
    super("WIT_INVALID_DESCRIBE", message, options);
    this.name = "DescribeError";
    this.field = field;
  }
}

/** Bad options passed to a function of this package. Code `WIT_INVALID_OPTIONS`. */
export class WitOptionsError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.WitOptionsError");

  constructor(message: string) {
    super("WIT_INVALID_OPTIONS", message);
    this.name = "WitOptionsError";
  }
}
