/**
 * `--constraint` expressions, the subset placement understands:
 *
 *   name            a node feature
 *   a&b             both (binds tighter than |)
 *   a|b             either, chosen per node
 *   (a|b)&c         grouping
 *   [a|b|c]         matching OR: every node of the job has the SAME one of a, b, c (at most one
 *                   bracket group per expression, as in SLURM)
 *
 * Counts (`a*2`), `[a*2&b*4]` and negation are not supported: parsing fails with a readable
 * message instead of guessing. Expressions are monotone (no negation), so if the union of an
 * island's features does not satisfy one, no node of the island does: the island-level prefilter.
 */

export type FeatureExpr =
  { kind: 'feature'; name: string } | { kind: 'and'; items: FeatureExpr[] } | { kind: 'or'; items: FeatureExpr[] } | { kind: 'match'; names: string[] };

export interface FeatureConstraint {
  /** As written. */
  text: string;
  expr: FeatureExpr;
  /**
   * One expression per choice of the matching-OR group (a single one without a bracket): a job
   * fits an island when all its nodes satisfy the SAME alternative.
   */
  alternatives: FeatureExpr[];
}

export class ConstraintError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConstraintError';
  }
}

const NAME = /^[A-Za-z0-9_.:+@/=-]+$/;

export function parseConstraint(text: string): FeatureConstraint {
  const src = text.trim();
  if (src === '') throw new ConstraintError('empty --constraint');
  const tokens = tokenize(src);
  let pos = 0;
  let brackets = 0;
  const peek = () => tokens[pos];
  const fail = (what: string): never => {
    throw new ConstraintError(`invalid --constraint "${src}": ${what}`);
  };

  /** `item (operator item)*`, one item kept as is. */
  const parseJoined = (operator: '|' | '&', kind: 'or' | 'and', parseItem: () => FeatureExpr): FeatureExpr => {
    const items = [parseItem()];
    while (peek() === operator) {
      pos++;
      items.push(parseItem());
    }
    return items.length === 1 ? items[0] : { kind, items };
  };
  // & binds tighter than |: an OR of ANDs.
  const parseOr = (): FeatureExpr => parseJoined('|', 'or', parseAnd);
  const parseAnd = (): FeatureExpr => parseJoined('&', 'and', parseAtom);
  const parseAtom = (): FeatureExpr => {
    const t = peek();
    if (t === undefined) return fail('ends where a feature name was expected');
    if (t === '(') {
      pos++;
      const inner = parseOr();
      if (peek() !== ')') fail('unbalanced parenthesis');
      pos++;
      return inner;
    }
    if (t === '[') {
      pos++;
      if (++brackets > 1) fail('only one [a|b] matching-OR group is supported');
      const names: string[] = [];
      for (;;) {
        const name = peek();
        if (name === undefined || !NAME.test(name)) fail('a [...] group holds feature names separated by |');
        names.push(name);
        pos++;
        if (peek() === '|') {
          pos++;
          continue;
        }
        if (peek() === ']') {
          pos++;
          break;
        }
        if (peek() === '&' || peek() === '*') fail('[a*N&b*M] (counts per feature) is not supported');
        fail('a [...] group holds feature names separated by |');
      }
      return { kind: 'match', names: [...new Set(names)] };
    }
    if (t === '*') fail('feature counts (name*N) are not supported');
    if (!NAME.test(t)) fail(`unexpected "${t}"`);
    pos++;
    if (peek() === '*') fail('feature counts (name*N) are not supported');
    return { kind: 'feature', name: t };
  };

  const expr = parseOr();
  if (pos !== tokens.length) fail(`unexpected "${tokens[pos]}"`);
  return { text: src, expr, alternatives: expandMatch(expr) };
}

function tokenize(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t') {
      i++;
    } else if ('&|()[]*'.includes(c)) {
      out.push(c);
      i++;
    } else if (c === '!') {
      throw new ConstraintError(`invalid --constraint "${src}": negation (!) is not supported`);
    } else if (c === ',') {
      throw new ConstraintError(`invalid --constraint "${src}": use & for AND and | for OR (, is not an operator)`);
    } else {
      let j = i;
      while (j < src.length && !'&|()[]*! \t,'.includes(src[j])) j++;
      out.push(src.slice(i, j));
      i = j;
    }
  }
  return out;
}

function expandMatch(expr: FeatureExpr): FeatureExpr[] {
  const group = findMatchGroup(expr);
  if (group === null) return [expr];
  return group.names.map((name) => replaceMatch(expr, name));
}

/** The expression's `[a|b]` matching-OR group, or null. */
export function findMatchGroup(expr: FeatureExpr): Extract<FeatureExpr, { kind: 'match' }> | null {
  if (expr.kind === 'match') return expr;
  if (expr.kind === 'feature') return null;
  for (const item of expr.items) {
    const found = findMatchGroup(item);
    if (found) return found;
  }
  return null;
}

function replaceMatch(expr: FeatureExpr, name: string): FeatureExpr {
  if (expr.kind === 'match') return { kind: 'feature', name };
  if (expr.kind === 'feature') return expr;
  return { kind: expr.kind, items: expr.items.map((item) => replaceMatch(item, name)) };
}

/** Whether a node with these features satisfies the expression (a match group acts as a plain OR). */
export function satisfies(expr: FeatureExpr, features: ReadonlySet<string>): boolean {
  switch (expr.kind) {
    case 'feature':
      return features.has(expr.name);
    case 'and':
      return expr.items.every((item) => satisfies(item, features));
    case 'or':
      return expr.items.some((item) => satisfies(item, features));
    case 'match':
      return expr.names.some((name) => features.has(name));
  }
}

export function renderExpr(expr: FeatureExpr): string {
  switch (expr.kind) {
    case 'feature':
      return expr.name;
    case 'and':
      return expr.items.map((i) => (i.kind === 'or' ? `(${renderExpr(i)})` : renderExpr(i))).join('&');
    case 'or':
      return expr.items.map(renderExpr).join('|');
    case 'match':
      return `[${expr.names.join('|')}]`;
  }
}
