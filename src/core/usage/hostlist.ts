/**
 * Expands a SLURM hostlist (`acct-a-n[1-3,7]`, `a[01-02]b,c`) into node names, in SLURM's order.
 * Covers one bracket group per name (every name Archipelago gives its nodes); zero padding is kept.
 * SLURM's "None assigned" (a job that never ran) and '' expand to nothing.
 */
export function expandHostlist(list: string | null | undefined): string[] {
  if (!list || list === 'None assigned' || list === '(null)') return [];
  const names: string[] = [];
  for (const part of splitTopLevel(list)) {
    const m = /^([^[\]]*)\[([^\]]+)\]([^[\]]*)$/.exec(part);
    if (!m) {
      if (/[[\]]/.test(part)) throw new Error(`unsupported hostlist ${JSON.stringify(list)}`);
      names.push(part);
      continue;
    }
    const [, prefix, ranges, suffix] = m;
    for (const range of ranges.split(',')) {
      const r = /^(\d+)(?:-(\d+))?$/.exec(range);
      if (!r) throw new Error(`bad range ${JSON.stringify(range)} in hostlist ${JSON.stringify(list)}`);
      const from = Number(r[1]);
      const to = r[2] === undefined ? from : Number(r[2]);
      if (to < from || to - from > 100000) throw new Error(`bad range ${JSON.stringify(range)} in hostlist ${JSON.stringify(list)}`);
      for (let i = from; i <= to; i++) names.push(`${prefix}${String(i).padStart(r[1].length, '0')}${suffix}`);
    }
  }
  return names;
}

/** Splits on commas that are not inside brackets. */
function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] === '[') depth++;
    else if (list[i] === ']') depth--;
    else if (list[i] === ',' && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(list.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}
