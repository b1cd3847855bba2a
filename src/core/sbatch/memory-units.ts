/**
 * Memory sizes for `--mem`, `--mem-per-cpu`, `--mem-per-gpu`, read like SLURM 22.05's
 * str_to_mbytes(): a whole number with an optional unit K, M, G or T (either case, optionally
 * followed by `B`), the default unit being megabytes (MiB). K rounds up to whole MiB.
 * Decimals (`1.5G`) are refused, as SLURM refuses them.
 */

import { InvalidValue, show } from './sbatch-error';

/** 1 PiB per node (or per CPU/GPU) is far beyond any real machine; larger is a typo. */
export const MAX_MEMORY_MB = 1024 * 1024 * 1024;

const FACTOR_TO_KB: Record<string, number> = { K: 1, M: 1024, G: 1024 * 1024, T: 1024 * 1024 * 1024 };

export function parseMemoryMb(text: string): number {
  const value = text.trim();
  const m = /^(\d+)([KMGT])?B?$/i.exec(value);
  // `B` alone (without a unit letter) is not something SLURM accepts.
  if (!m || (m[2] === undefined && /b$/i.test(value))) {
    throw new InvalidValue(`invalid memory size ${show(value)}: use a whole number with an optional K, M, G or T suffix`);
  }
  if (m[1].length > 15) throw new InvalidValue(`memory size ${show(value)} is out of range`);
  const amount = Number(m[1]);
  const unit = (m[2] ?? 'M').toUpperCase();
  const kb = amount * FACTOR_TO_KB[unit];
  const mb = Math.ceil(kb / 1024);
  if (!Number.isSafeInteger(kb) || mb > MAX_MEMORY_MB) {
    throw new InvalidValue(`memory size ${show(value)} is out of range (at most ${MAX_MEMORY_MB} MiB)`);
  }
  return mb;
}
