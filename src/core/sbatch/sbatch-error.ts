/**
 * Errors raised while reading an sbatch submission.
 *
 * `SbatchParseError` is what callers see: it says where the problem is (`field`), which sbatch
 * option it concerns (`option`, the canonical long form such as `--time`) and why (`reason`).
 * `InvalidValue` is internal: value parsers throw it knowing only the reason, and the option
 * dispatcher wraps it with the location it alone knows.
 */

export class SbatchParseError extends Error {
  /** Where: `script:line N`, `script`, `options`, or `options.<key>`. */
  readonly field: string;
  /** The canonical long option (`--time`) when the error concerns one. */
  readonly option?: string;
  /** Human explanation, without the location prefix but naming the option when there is one. */
  readonly reason: string;

  constructor(field: string, reason: string, option?: string) {
    // The reason names the option itself, so a caller that shows only field + reason (the REST
    // error body) still tells the user which option is at fault.
    const full = option !== undefined && !reason.includes(option) ? `${option}: ${reason}` : reason;
    super(`${field}: ${full}`);
    this.name = 'SbatchParseError';
    this.field = field;
    this.reason = full;
    if (option !== undefined) this.option = option;
  }
}

/** Thrown by value parsers; carries only the reason. */
export class InvalidValue extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'InvalidValue';
  }
}

/** Quote a user-supplied value for an error message without echoing control characters raw. */
export function show(value: string): string {
  const clipped = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(clipped);
}
