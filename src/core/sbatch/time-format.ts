/**
 * `--time` / `--time-min` durations, read the way SLURM 22.05's time_str2mins() reads them.
 *
 * Accepted: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`, and (case-insensitive)
 * `UNLIMITED`, `INFINITE`, `-1`. Like SLURM, fields are not range-checked (`90` is 90 minutes,
 * `0:90` is 90 seconds), seconds round UP to whole minutes, and a total of zero means no limit.
 *
 * Stricter than SLURM on purpose: its validator lets through odd spellings such as `:30` (which
 * its sscanf() then reads as 0, i.e. UNLIMITED) or `5-` (5 days); those are refused here because
 * a user who typed them almost certainly meant something else.
 */

import { InvalidValue, show } from './sbatch-error';

const FORMS: ReadonlyArray<{ re: RegExp; toSeconds: (n: number[]) => number }> = [
  { re: /^(\d+)$/, toSeconds: ([m]) => m * 60 },
  { re: /^(\d+):(\d+)$/, toSeconds: ([m, s]) => m * 60 + s },
  { re: /^(\d+):(\d+):(\d+)$/, toSeconds: ([h, m, s]) => h * 3600 + m * 60 + s },
  { re: /^(\d+)-(\d+)$/, toSeconds: ([d, h]) => d * 86400 + h * 3600 },
  { re: /^(\d+)-(\d+):(\d+)$/, toSeconds: ([d, h, m]) => d * 86400 + h * 3600 + m * 60 },
  {
    re: /^(\d+)-(\d+):(\d+):(\d+)$/,
    toSeconds: ([d, h, m, s]) => d * 86400 + h * 3600 + m * 60 + s,
  },
];

/** SLURM stores limits as uint32 minutes with 0xffffffff meaning INFINITE; stay below it. */
export const MAX_TIME_MINUTES = 0xfffffffe;

/**
 * Minutes for a duration, or `null` for no limit (UNLIMITED, INFINITE, -1, or a zero duration).
 * Throws InvalidValue for anything else.
 */
export function parseDurationMinutes(text: string): number | null {
  const value = text.trim();
  if (value === '') throw new InvalidValue('expects a duration, got an empty value');
  const upper = value.toUpperCase();
  if (upper === 'UNLIMITED' || upper === 'INFINITE' || value === '-1') return null;

  for (const form of FORMS) {
    const m = form.re.exec(value);
    if (!m) continue;
    const fields = m.slice(1);
    // Nine digits per field keeps every sum exact in a double and mirrors SLURM's int fields.
    if (fields.some((f) => f.length > 9)) {
      throw new InvalidValue(`duration ${show(value)} is out of range`);
    }
    const seconds = form.toSeconds(fields.map(Number));
    const minutes = Math.ceil(seconds / 60);
    if (minutes === 0) return null;
    if (minutes > MAX_TIME_MINUTES) throw new InvalidValue(`duration ${show(value)} is out of range`);
    return minutes;
  }
  throw new InvalidValue(`invalid duration ${show(value)}: use MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED`);
}
