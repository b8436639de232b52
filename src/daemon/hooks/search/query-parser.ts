import { FsError } from '../../../core/errors.js';
import { WILDCARD_FIELDS, type NumberField, type QueryField, type QueryNode, type TextField } from './query-ast.js';
import { tokenize, unquote, type Token } from './query-tokens.js';
import { BadValue, normalizeExtension, parseNumberValue, parseSha256, parseYesNo, type Span } from './query-values.js';

/**
 * The query language of `storaged search`:
 *
 * - Terms are separated by spaces and must all match: `type:image/jpeg taken>2024-01-01`.
 * - `field:value` is equality. `type`, `name`, `path` and `camera` take `*`
 *   wildcards (`type:image/*`, `name:*.jpg`); `type:image` means `type:image/*`.
 *   type, name, ext and camera compare case-insensitively, path exactly.
 * - `size`, `width`, `height` and `taken` take comparisons (`size>1MiB`,
 *   `width>=1920`, `taken<2024-06-01`, also written `size:>1MiB`) and ranges
 *   (`size:1MiB..5MiB`, `taken:2024-01-01..2024-12-31`, open ends `size:..1KB`);
 *   sizes take units (B, KB, MB, GB, KiB, MiB, GiB), times are ISO dates or
 *   date-times, UTC unless they give a zone (see query-values.ts for what a
 *   date covers: `taken:2024-06-01` is that whole day).
 * - `gps:yes` / `gps:no`: the file has GPS coordinates or not.
 * - `sha256:<64 hex digits>`, `ext:jpg` (or `.jpg`), `watch:<name>`, `disk:<name>`.
 * - A bare word matches file names containing it (case-insensitive); a bare
 *   word with `*` is a name pattern (`*.jpg`).
 * - `"..."` quotes values with spaces: `camera:"Canon EOS R5"`, `"holiday 2024"`.
 * - `-term` negates a term; `a OR b` matches either (OR binds tighter than
 *   the spaces: `a OR b c` is `(a OR b) AND c`).
 *
 * An empty query matches everything. Any error is FsError EINVAL naming the
 * bad term and its 1-based column: `unknown field 'colour' at 1`.
 */
export function parseQuery(query: string): QueryNode {
  const tokens = tokenize(query);
  const groups: QueryNode[][] = [];
  let pendingOr: Token | undefined;
  for (const [index, token] of tokens.entries()) {
    if (isOr(token)) {
      if (groups.length === 0 || pendingOr !== undefined) throw invalid(`'OR' at ${token.at} needs a term before it`, query);
      if (index === tokens.length - 1) throw invalid(`'OR' at ${token.at} needs a term after it`, query);
      pendingOr = token;
      continue;
    }
    const node = parseTerm(token, query);
    if (pendingOr !== undefined) groups[groups.length - 1]!.push(node);
    else groups.push([node]);
    pendingOr = undefined;
  }
  const ands = groups.map((terms) => (terms.length === 1 ? terms[0]! : ({ kind: 'or', terms } as const)));
  if (ands.length === 0) return { kind: 'all' };
  return ands.length === 1 ? ands[0]! : { kind: 'and', terms: ands };
}

/** Field names users may type, with the field each one means. */
const FIELDS: Record<string, QueryField> = {
  type: 'type',
  mime: 'type',
  name: 'name',
  path: 'path',
  ext: 'ext',
  size: 'size',
  width: 'width',
  height: 'height',
  camera: 'camera',
  taken: 'taken',
  gps: 'gps',
  sha256: 'sha256',
  watch: 'watch',
  disk: 'disk',
};

const NUMBER_FIELDS: readonly string[] = ['size', 'width', 'height', 'taken'] satisfies NumberField[];

type Operator = ':' | '>' | '>=' | '<' | '<=';

const FIELD_TERM = /^([A-Za-z][A-Za-z0-9_]*)(>=|<=|:|>|<)/;

function isOr(token: Token): boolean {
  return token.raw === 'OR' && !token.quoted;
}

function parseTerm(token: Token, query: string): QueryNode {
  const negated = token.raw.startsWith('-') && token.firstQuote > 0;
  const body: Token = negated ? { ...token, raw: token.raw.slice(1), firstQuote: token.firstQuote - 1 } : token;
  if (negated && body.raw === '') throw invalid(`'-' at ${token.at} must be followed by a term`, query);
  const node = parseBody(body, token, query);
  return negated ? { kind: 'not', term: node } : node;
}

function parseBody(body: Token, token: Token, query: string): QueryNode {
  const match = FIELD_TERM.exec(body.raw);
  if (!match || match[0].length > body.firstQuote) return bareWord(unquote(body.raw), token, query);
  const name = match[1]!.toLowerCase();
  const field = FIELDS[name];
  if (field === undefined) throw invalid(`unknown field '${match[1]}' at ${token.at} (fields: ${Object.keys(FIELDS).join(', ')})`, query);
  let operator = match[2] as Operator;
  let value = unquote(body.raw.slice(match[0].length));
  // `size:>1MiB` is `size>1MiB`.
  const inner = operator === ':' && NUMBER_FIELDS.includes(field) ? /^(>=|<=|>|<)/.exec(value) : null;
  if (inner) {
    operator = inner[1] as Operator;
    value = value.slice(inner[1]!.length);
  }
  if (value === '') throw invalid(`'${token.raw}' at ${token.at} has no value`, query);
  try {
    if (field === 'gps') {
      if (operator !== ':') throw new BadValue(`'gps' takes no comparison ('${operator}'): write gps:yes or gps:no`);
      return { kind: 'gps', present: parseYesNo(value) };
    }
    if (NUMBER_FIELDS.includes(field)) return numberTerm(field as NumberField, operator, value);
    if (operator !== ':') throw new BadValue(`'${name}' takes no comparison ('${operator}')`);
    return textTerm(field as TextField, value);
  } catch (err) {
    if (err instanceof BadValue) throw invalid(`bad term '${token.raw}' at ${token.at}: ${err.message}`, query);
    throw err;
  }
}

function bareWord(word: string, token: Token, query: string): QueryNode {
  if (word === '') throw invalid(`empty term at ${token.at}`, query);
  return word.includes('*') ? { kind: 'like', field: 'name', pattern: word } : { kind: 'contains', field: 'name', value: word };
}

function numberTerm(field: NumberField, operator: Operator, value: string): QueryNode {
  if (operator === ':' && value.includes('..')) return rangeTerm(field, value);
  const span = parseNumberValue(field, value);
  switch (operator) {
    case ':':
      return { kind: 'range', field, min: span.lo, max: span.hi };
    case '>':
      return { kind: 'range', field, min: span.hi };
    case '>=':
      return { kind: 'range', field, min: span.lo };
    case '<':
      return { kind: 'range', field, max: span.lo };
    case '<=':
      return { kind: 'range', field, max: span.hi };
  }
}

/** `a..b`, `a..`, `..b`: from the start of a to the end of b. */
function rangeTerm(field: NumberField, value: string): QueryNode {
  const split = value.indexOf('..');
  const fromText = value.slice(0, split);
  const toText = value.slice(split + 2);
  if (fromText === '' && toText === '') throw new BadValue(`a range needs at least one end`);
  const from: Span | undefined = fromText === '' ? undefined : parseNumberValue(field, fromText);
  const to: Span | undefined = toText === '' ? undefined : parseNumberValue(field, toText);
  if (from !== undefined && to !== undefined && from.lo >= to.hi) throw new BadValue(`the range '${value}' is empty (its start is after its end)`);
  return { kind: 'range', field, ...(from !== undefined ? { min: from.lo } : {}), ...(to !== undefined ? { max: to.hi } : {}) };
}

function textTerm(field: TextField, value: string): QueryNode {
  const wildcard = value.includes('*');
  if (wildcard && !WILDCARD_FIELDS.includes(field)) throw new BadValue(`'${field}' takes no '*' wildcards`);
  switch (field) {
    case 'ext':
      return { kind: 'equals', field, value: normalizeExtension(value) };
    case 'sha256':
      return { kind: 'equals', field, value: parseSha256(value) };
    case 'type':
      if (!wildcard && !value.includes('/')) return { kind: 'like', field, pattern: `${value}/*` };
      break;
    case 'path':
      value = value.replace(/^\/+/, '');
      if (value === '') throw new BadValue(`a path needs at least one name`);
      break;
    default:
      break;
  }
  return wildcard ? { kind: 'like', field, pattern: value } : { kind: 'equals', field, value };
}

function invalid(problem: string, query: string): FsError {
  return new FsError('EINVAL', `${problem} in search query '${query}'`, { op: 'search' });
}
