/** Further ways to read a flag's value, for flags that take more than one number. */
export interface FlagValues {
  /** Comma-separated numbers, each checked as `num` checks one (`--processes 1,2,4`). */
  list: (min: number, max: number) => number[];
  /** The next argument as it is (undefined when the flag is the last one). */
  text: () => string | undefined;
}

/**
 * Walks a benchmark's command-line flags: `onFlag` sees each flag and reads its value, checked to
 * lie in [min, max] (integers unless `integers: false`), with an error that names the flag.
 */
export function eachFlag(
  argv: string[],
  options: { integers: boolean },
  onFlag: (flag: string, num: (min: number, max: number) => number, values: FlagValues) => void,
): void {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const checked = (raw: string | undefined, min: number, max: number) => {
      const v = Number(raw);
      const valid = (options.integers ? Number.isInteger(v) : Number.isFinite(v)) && v >= min && v <= max;
      if (!valid) throw new Error(`${flag} must be ${options.integers ? 'an integer' : 'a number'} in ${min}..${max}`);
      return v;
    };
    onFlag(flag, (min, max) => checked(argv[++i], min, max), {
      list: (min, max) => (argv[++i] ?? '').split(',').map((raw) => checked(raw, min, max)),
      text: () => argv[++i],
    });
  }
}
