/**
 * Building the page from data without innerHTML: every value from the API lands as text, so nothing
 * a job name or an error detail holds can become markup.
 */
export type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

function fill(node: Element, attributes: Attributes, children: Child[]): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') node.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) node.setAttribute(name, '');
    else if (value !== false && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  fill(node, attributes, children);
  return node;
}

export function svg(tag: string, attributes: Attributes = {}, ...children: Child[]): SVGElement {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  fill(node, attributes, children);
  return node;
}

export function table(headers: string[], rows: Child[][], attributes: Attributes = {}): HTMLTableElement {
  return el(
    'table',
    attributes,
    el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((cell) => el('td', {}, cell))))),
  );
}

/** A job or node state as a coloured label (the colour comes from the stylesheet, by state). */
export function badge(state: string): HTMLSpanElement {
  return el('span', { class: `badge state-${state.toLowerCase()}` }, state);
}

/** Definition list of label/value pairs, leaving out the empty ones. */
export function facts(pairs: Array<[string, Child]>): HTMLDListElement {
  const list = el('dl', { class: 'facts' });
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === '') continue;
    list.append(el('dt', {}, label), el('dd', {}, value));
  }
  return list;
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

/** Replaces what a container shows. */
export function show(container: Element, ...children: Child[]): void {
  container.replaceChildren();
  fill(container, {}, children);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
