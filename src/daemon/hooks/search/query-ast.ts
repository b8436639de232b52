/**
 * The parsed form of a `storaged search` query (see query-parser.ts for the
 * language). Values are already resolved: sizes in bytes, times in ms since
 * the epoch, extensions lower-case without the dot. Field names are the
 * ones users type (`type`, `taken`), the SQL builder maps them to columns.
 */

/** Text fields: equality, and `*` wildcards where WILDCARD_FIELDS allows them. */
export type TextField = 'type' | 'name' | 'path' | 'ext' | 'camera' | 'sha256' | 'watch' | 'disk';

/** Numeric fields: equality, comparisons and ranges. `taken` is in ms since the epoch. */
export type NumberField = 'size' | 'width' | 'height' | 'taken';

/** Every field a query may name (`gps` is yes/no: the file has GPS coordinates). */
export type QueryField = TextField | NumberField | 'gps';

/** The text fields whose values may hold `*` wildcards. */
export const WILDCARD_FIELDS: readonly TextField[] = ['type', 'name', 'path', 'camera'];

/** One node of a parsed query. */
export type QueryNode =
  /** The empty query: every record. */
  | { kind: 'all' }
  /** Every term matches (space-separated terms). */
  | { kind: 'and'; terms: QueryNode[] }
  /** At least one term matches (`a OR b`). */
  | { kind: 'or'; terms: QueryNode[] }
  /** The term does not match (`-term`); a record without the field does not match the term, so it matches its negation. */
  | { kind: 'not'; term: QueryNode }
  /** The field equals `value` (case-insensitive for type, name, ext and camera). */
  | { kind: 'equals'; field: TextField; value: string }
  /** The field matches `pattern`, where `*` is any run of characters (case-insensitive except for path). */
  | { kind: 'like'; field: TextField; pattern: string }
  /** The file name contains `value`, case-insensitive (a bare word). */
  | { kind: 'contains'; field: 'name'; value: string }
  /** `min <= field < max`; a missing bound is open. */
  | { kind: 'range'; field: NumberField; min?: number; max?: number }
  /** The file has (or has not) GPS coordinates. */
  | { kind: 'gps'; present: boolean };
