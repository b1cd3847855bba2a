import { svg } from './dom.js';

export interface MatrixNode {
  id: string;
  name: string;
}

/** A run of consecutive rows (and columns) that are one island's members. */
export interface Block {
  island: string;
  first: number;
  count: number;
}

const CELL = 30;
/** Room for the row names (left) and the slanted column names (top and past the last column). */
const LEFT = 120;
const TOP = 90;
const RIGHT = 80;
const LEGEND_WIDTH = 220;
const LEGEND_HEIGHT = 56;
/** Green (near) to yellow to red (far): the colours of a heat map people read without a key. */
const STOPS: Array<[number, [number, number, number]]> = [
  [0, [26, 152, 80]],
  [0.5, [254, 224, 139]],
  [1, [215, 48, 39]],
];

function mix(t: number): string {
  const upper = STOPS.findIndex(([at]) => at >= t);
  if (upper <= 0) return rgb(STOPS[0][1]);
  const [a, from] = STOPS[upper - 1];
  const [b, to] = STOPS[upper];
  const f = (t - a) / (b - a);
  return rgb(from.map((c, i) => Math.round(c + (to[i] - c) * f)) as [number, number, number]);
}

const rgb = ([r, g, b]: [number, number, number]) => `rgb(${r}, ${g}, ${b})`;

/**
 * RTTs span orders of magnitude (0.2 ms in a rack, 40 ms across sites): a logarithmic scale keeps
 * both the tight blocks and the gaps between them readable.
 */
export function colourScale(values: number[]): { colour: (ms: number) => string; min: number; max: number } {
  const positive = values.filter((v) => v > 0);
  const min = positive.length ? Math.min(...positive) : 1;
  const max = positive.length ? Math.max(...positive) : 1;
  const span = Math.log(max / min);
  const colour = (ms: number) => mix(span > 0 ? Math.min(1, Math.max(0, Math.log(Math.max(ms, min) / min) / span)) : 0);
  return { colour, min, max };
}

const fixed = (ms: number) => (ms >= 10 ? ms.toFixed(0) : ms.toFixed(1));

/** The latency matrix as a picture: one cell per measured pair, islands outlined along the diagonal. */
export function latencyHeatMap(nodes: MatrixNode[], matrix: Array<Array<number | null>>, blocks: Block[]): SVGElement {
  const values = matrix.flat().filter((v): v is number => v !== null);
  const scale = colourScale(values);
  const size = nodes.length * CELL;
  const width = LEFT + Math.max(size + RIGHT, LEGEND_WIDTH + 10);
  const height = TOP + size + LEGEND_HEIGHT;
  const picture = svg('svg', { id: 'latency-map', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'RTT between nodes (ms)' });
  const cells = svg('g', { transform: `translate(${LEFT} ${TOP})` });
  nodes.forEach((node, row) => {
    cells.append(svg('text', { x: -6, y: row * CELL + CELL / 2 + 4, 'text-anchor': 'end', class: 'axis' }, node.name));
    cells.append(svg('text', { transform: `translate(${row * CELL + CELL / 2 + 4} -6) rotate(-45)`, class: 'axis' }, node.name));
    nodes.forEach((peer, column) => {
      const ms = matrix[row]?.[column] ?? null;
      const x = column * CELL;
      const y = row * CELL;
      const what = `${node.name} → ${peer.name}: ${ms === null ? 'not measured' : `${ms} ms`}`;
      cells.append(
        svg(
          'rect',
          {
            x,
            y,
            width: CELL,
            height: CELL,
            class: ms === null ? 'cell unmeasured' : 'cell',
            fill: ms === null ? '#e4e4e4' : scale.colour(ms),
            'data-ms': ms ?? '',
          },
          svg('title', {}, what),
        ),
      );
      if (ms !== null) cells.append(svg('text', { x: x + CELL / 2, y: y + CELL / 2 + 4, 'text-anchor': 'middle', class: 'value' }, fixed(ms)));
    });
  });
  for (const block of blocks) {
    const at = block.first * CELL;
    const side = block.count * CELL;
    cells.append(
      svg('rect', { x: at, y: at, width: side, height: side, class: 'island-outline', 'data-island': block.island }, svg('title', {}, block.island)),
    );
  }
  picture.append(cells, legend(scale, LEFT, TOP + size + 16, LEGEND_WIDTH));
  return picture;
}

function legend(scale: ReturnType<typeof colourScale>, x: number, y: number, width: number): SVGElement {
  const gradient = svg('linearGradient', { id: 'latency-scale' });
  for (let step = 0; step <= 10; step++) gradient.append(svg('stop', { offset: `${step * 10}%`, 'stop-color': mix(step / 10) }));
  return svg(
    'g',
    { transform: `translate(${x} ${y})`, class: 'legend' },
    svg('defs', {}, gradient),
    svg('rect', { width, height: 12, fill: 'url(#latency-scale)' }),
    svg('text', { x: 0, y: 28, class: 'axis' }, `${fixed(scale.min)} ms`),
    svg('text', { x: width, y: 28, 'text-anchor': 'end', class: 'axis' }, `${fixed(scale.max)} ms`),
    svg('text', { x: width / 2, y: 28, 'text-anchor': 'middle', class: 'axis' }, 'log scale'),
  );
}
