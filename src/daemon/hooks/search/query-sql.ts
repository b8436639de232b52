import type { NumberField, QueryNode, TextField } from './query-ast.js';

/** A WHERE clause with `?` placeholders and the values bound to them, in order. */
export interface SqlCondition {
  sql: string;
  params: Array<string | number>;
}

/** The column of table file_metadata each field reads (see metadata-schema.ts). */
const COLUMNS: Record<TextField | NumberField, string> = {
  type: 'mime',
  name: 'name',
  path: 'path',
  ext: 'ext',
  camera: 'camera',
  sha256: 'sha256',
  watch: 'watch',
  disk: 'disk',
  size: 'size',
  width: 'width',
  height: 'height',
  taken: 'taken_at_ms',
};

/**
 * Translates a parsed query into a condition on table file_metadata. Every
 * value is a bound parameter; only column names and operators (fixed text
 * chosen here) reach the SQL. A record without the field (NULL column) never
 * matches a term, so it matches the term's negation.
 */
export function queryToSql(node: QueryNode): SqlCondition {
  const params: Array<string | number> = [];
  const sql = build(node, params);
  return { sql, params };
}

function build(node: QueryNode, params: Array<string | number>): string {
  switch (node.kind) {
    case 'all':
      return '1';
    case 'and':
    case 'or':
      return `(${node.terms.map((term) => build(term, params)).join(node.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      // NULL (a missing field) counts as "does not match", so its negation matches.
      return `(NOT coalesce(${build(node.term, params)}, 0))`;
    case 'equals':
      params.push(node.value);
      // name, ext, type and camera are COLLATE NOCASE columns: '=' is case-insensitive and uses their index.
      return `(${COLUMNS[node.field]} = ?)`;
    case 'like':
      return like(COLUMNS[node.field], node.field === 'path', node.pattern, params);
    case 'contains':
      params.push(`%${escapeLike(node.value)}%`);
      return `(${COLUMNS[node.field]} LIKE ? ESCAPE '\\')`;
    case 'range': {
      const column = COLUMNS[node.field];
      const parts: string[] = [];
      if (node.min !== undefined) {
        parts.push(`${column} >= ?`);
        params.push(node.min);
      }
      if (node.max !== undefined) {
        parts.push(`${column} < ?`);
        params.push(node.max);
      }
      return parts.length === 0 ? `(${column} IS NOT NULL)` : `(${parts.join(' AND ')})`;
    }
    case 'gps':
      return node.present ? '(gps_latitude IS NOT NULL AND gps_longitude IS NOT NULL)' : '(gps_latitude IS NULL OR gps_longitude IS NULL)';
  }
}

/** `*` wildcards: LIKE (ASCII case-insensitive), or GLOB for the case-sensitive path. */
function like(column: string, caseSensitive: boolean, pattern: string, params: Array<string | number>): string {
  if (caseSensitive) {
    params.push(pattern.split('*').map(escapeGlob).join('*'));
    return `(${column} GLOB ?)`;
  }
  params.push(pattern.split('*').map(escapeLike).join('%'));
  return `(${column} LIKE ? ESCAPE '\\')`;
}

/** LIKE's own wildcards (`%`, `_`) and the escape character itself, made literal. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/** GLOB's metacharacters (`?`, `[`, `*`) made literal with bracket classes. */
function escapeGlob(text: string): string {
  return text.replace(/[?[*]/g, (char) => `[${char}]`);
}
