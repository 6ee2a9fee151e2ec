/**
 * The error base of every clawft package. Users match on `code` (stable across
 * versions) and use the static `isInstance()` checks, which work across two
 * installed copies of a package (they test a `Symbol.for` brand, not `instanceof`).
 */

const BASE_MARKER = Symbol.for("clawft.error");

export interface ClawftErrorOptions {
  cause?: unknown;
}

type ErrorClass = (abstract new (...args: never[]) => ClawftError) & { readonly marker: symbol };

export class ClawftError extends Error {
  /** The brand every subclass checks; each subclass declares its own. */
  static readonly marker: symbol = BASE_MARKER;

  /** A stable, machine-readable code such as `FS_OUTSIDE_SANDBOX`. */
  readonly code: string;

  constructor(code: string, message: string, options: ClawftErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = "ClawftError";
    // Brand the instance with the marker of its own class and of every base class.
    for (
      let cls = new.target as unknown as ErrorClass | null;
      cls && Object.prototype.hasOwnProperty.call(cls, "marker");
      cls = Object.getPrototypeOf(cls) as ErrorClass | null
    ) {
      Object.defineProperty(this, cls.marker, { value: true, enumerable: false });
    }
  }

  /**
   * True when `value` is an error of this class (or a subclass), even when it
   * comes from another installed copy of the package.
   */
  static isInstance<T extends ErrorClass>(this: T, value: unknown): value is InstanceType<T> {
    return (
      typeof value === "object" &&
      value !== null &&
      (value as Record<symbol, unknown>)[this.marker] === true
    );
  }

  toJSON(): { name: string; code: string; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/**
 * A refusal by one of the sandboxes (fs, http, env, log, rate limits). The
 * message starts with the security catalogue's text, which plugins see.
 */
export class SandboxError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.SandboxError");

  constructor(code: string, message: string, options: ClawftErrorOptions = {}) {
    super(code, message, options);
    this.name = "SandboxError";
  }
}
