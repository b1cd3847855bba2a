/** Small renderers shared by the rejection reasons of the hard filters and the partition choice. */

/** `a, b, c`, or `none` for an empty list (so a reason never ends in a dangling colon). */
export function listOrNone(values: Iterable<string>): string {
  const all = [...values];
  return all.length ? all.join(', ') : 'none';
}

/** Minutes as SLURM writes a time limit: `[days-]hh:mm:00`, or `UNLIMITED` for null. */
export function formatMinutes(minutes: number | null): string {
  if (minutes === null) return 'UNLIMITED';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const remainder = minutes % 60;
  const clock = `${String(hours).padStart(2, '0')}:${String(remainder).padStart(2, '0')}:00`;
  return days ? `${days}-${clock}` : clock;
}
