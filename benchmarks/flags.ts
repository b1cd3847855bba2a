/**
 * Walks a benchmark's command-line flags: `onFlag` sees each flag and reads its value, checked to
 * lie in [min, max] (integers unless `integers: false`), with an error that names the flag.
 */
export function eachFlag(argv: string[], options: { integers: boolean }, onFlag: (flag: string, value: (min: number, max: number) => number) => void): void {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    onFlag(flag, (min, max) => {
      const v = Number(argv[++i]);
      const valid = (options.integers ? Number.isInteger(v) : Number.isFinite(v)) && v >= min && v <= max;
      if (!valid) throw new Error(`${flag} must be ${options.integers ? 'an integer' : 'a number'} in ${min}..${max}`);
      return v;
    });
  }
}
