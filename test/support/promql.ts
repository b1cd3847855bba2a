/**
 * Just enough of PromQL and of Prometheus's text format to check a Grafana dashboard against what
 * the processes really export: metric names, `label="value"` matchers and `by (…)` labels.
 */

export interface Series {
  name: string;
  labels: Record<string, string>;
}

/**
 * The metric names a /metrics text declares (`# TYPE`; a histogram's `_bucket`, `_sum` and `_count`
 * too), so a labelled counter nothing has incremented yet still counts as exported.
 */
export function declaredNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(match[1]);
    if (match[2] === 'histogram' || match[2] === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(match[1] + suffix);
  }
  return names;
}

/** Every sample line of a /metrics text as its name and labels. */
export function parseExposition(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    out.push({ name: match[1], labels });
  }
  return out;
}

export interface Selector {
  name: string;
  /** Exact matchers only (`label="value"`); regex and negative ones are not checked. */
  equals: Record<string, string>;
}

/** The metrics a query reads. Names are what our processes export (archipelago_, process_, nodejs_). */
export function selectors(expr: string): Selector[] {
  const out: Selector[] = [];
  for (const match of expr.matchAll(/\b((?:archipelago|process|nodejs)_[a-zA-Z0-9_:]*)(?:\{([^}]*)\})?/g)) {
    const equals: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_]+)\s*=\s*"([^"]*)"/g)) {
      if (!pair[0].includes('=~') && !pair[0].includes('!=') && !pair[2].includes('$')) equals[pair[1]] = pair[2];
    }
    out.push({ name: match[1], equals });
  }
  return out;
}

/** Labels a query groups by (`by (a, b)`), which the series it reads must carry. */
export function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) =>
    m[1]
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

/** Every query of every panel (rows' panels included), with the panel's title. */
export function dashboardQueries(dashboard: { panels?: unknown[] }): Array<{ panel: string; expr: string }> {
  const out: Array<{ panel: string; expr: string }> = [];
  const walk = (panels: any[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) if (typeof target.expr === 'string') out.push({ panel: panel.title, expr: target.expr });
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels ?? []);
  return out;
}
