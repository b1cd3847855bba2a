/**
 * A small horizontal bar chart as standalone SVG: one panel per unit (ratios, jobs/s, MiB…), each
 * scaled to its own largest value, with optional reference lines (e.g. 1.0 = parity with the
 * baseline, or a target). Our own code so that the report needs no charting dependency.
 */
export interface Bar {
  label: string;
  value: number;
  /** Drawn in the accent colour: the numbers the issue asks about. */
  highlight?: boolean;
}

export interface Panel {
  title: string;
  unit: string;
  bars: Bar[];
  /** Vertical dashed lines at these values, labelled. */
  references?: Array<{ value: number; label: string }>;
}

const WIDTH = 1040;
const LABEL_WIDTH = 440;
/** Longer labels are cut (the report's table has them whole). */
const MAX_LABEL = 68;
const VALUE_WIDTH = 90;
const BAR_HEIGHT = 18;
const BAR_GAP = 6;
const TITLE_HEIGHT = 30;
const PANEL_GAP = 18;

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Shortest plain rendering: 1234.5 → "1235", 0 → "0", 0.8123 → "0.81", 12.34 → "12.3". */
export function formatValue(value: number): string {
  const abs = Math.abs(value);
  if (Number.isInteger(value) || abs >= 100) return Math.round(value).toString();
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function clip(label: string): string {
  return label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
}

export function renderChart(title: string, panels: Panel[]): string {
  const shown = panels.filter((p) => p.bars.length > 0);
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20;
  const parts: string[] = [];
  let y = 40;
  for (const panel of shown) {
    const max = Math.max(...panel.bars.map((b) => b.value), ...(panel.references ?? []).map((r) => r.value), Number.MIN_VALUE);
    const x = (value: number) => LABEL_WIDTH + (Math.max(0, value) / max) * plotWidth;
    parts.push(`<text x="10" y="${y + 18}" class="panel">${escapeXml(panel.title)} (${escapeXml(panel.unit)})</text>`);
    const top = y + TITLE_HEIGHT;
    panel.bars.forEach((bar, i) => {
      const by = top + i * (BAR_HEIGHT + BAR_GAP);
      const width = Math.max(1, x(bar.value) - LABEL_WIDTH);
      parts.push(
        `<text x="${LABEL_WIDTH - 8}" y="${by + 13}" text-anchor="end">${escapeXml(clip(bar.label))}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${by}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" class="${bar.highlight ? 'hi' : 'bar'}"/>`,
        `<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${by + 13}">${formatValue(bar.value)}</text>`,
      );
    });
    const bottom = top + panel.bars.length * (BAR_HEIGHT + BAR_GAP);
    const references = panel.references ?? [];
    references.forEach((ref, i) => {
      const rx = x(ref.value).toFixed(1);
      // Staggered so that labels of nearby lines do not overlap.
      parts.push(
        `<line x1="${rx}" y1="${top - 4}" x2="${rx}" y2="${bottom + 12 * i}" class="ref"/>`,
        `<text x="${rx}" y="${bottom + 12 * (i + 1)}" text-anchor="middle" class="small">${escapeXml(ref.label)}</text>`,
      );
    });
    y = bottom + PANEL_GAP + 12 * references.length;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    '<style>.bar{fill:#8aa4c8}.hi{fill:#d9822b}.ref{stroke:#333;stroke-dasharray:4 3}.panel{font-weight:bold;font-size:13px}.small{font-size:10px;fill:#333}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
