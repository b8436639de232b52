import { parseSize } from '../../../core/config/size.js';
import type { NumberField } from './query-ast.js';

/**
 * Values of numeric query fields as spans `[lo, hi)`: what `field:value`
 * means. A whole number is the span of itself ([v, v + 1)); a date is the
 * span of what it names: `2024` the year, `2024-06` the month, `2024-06-01`
 * the day, `2024-06-01T10:30` the minute, and so on down to milliseconds.
 * Comparisons follow from the span: `> v` is `>= hi`, `>= v` is `>= lo`,
 * `< v` is `< lo`, `<= v` is `< hi` (so `taken>2024-01-01` starts on
 * January 2nd and `taken<=2024-12-31` includes New Year's Eve).
 */
export interface Span {
  lo: number;
  hi: number;
}

/** Why a value was refused (the parser adds the term and its position). */
export class BadValue extends Error {}

/** The span of `text` as a value of `field`; throws BadValue when it is not one. */
export function parseNumberValue(field: NumberField, text: string): Span {
  switch (field) {
    case 'size':
      return point(parseSizeValue(text));
    case 'width':
    case 'height':
      return point(parseWholeNumber(text));
    case 'taken':
      return parseTime(text);
  }
}

function point(value: number): Span {
  return { lo: value, hi: value + 1 };
}

/** `1048576`, `1MiB`, `1.5 GB` (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024). */
function parseSizeValue(text: string): number {
  if (!/^\d+(\.\d+)?[a-zA-Z]*$/.test(text)) throw new BadValue(`'${text}' is not a size (a number with an optional unit: B, KB, MB, GB, KiB, MiB, GiB)`);
  try {
    return parseSize(text);
  } catch {
    throw new BadValue(`'${text}' is not a size (unknown unit; use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`);
  }
}

function parseWholeNumber(text: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new BadValue(`'${text}' is not a whole number`);
  return Number(text);
}

const DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$/i;

/**
 * `2024`, `2024-06`, `2024-06-01`, `2024-06-01T10:30`, `...:15`, `...:15.250`,
 * with an optional zone (`Z`, `+02:00`) after a time. A time without a zone
 * is UTC, as EXIF times without an offset are indexed (see processing/images/exif.ts).
 */
function parseTime(text: string): Span {
  const match = DATE_TIME.exec(text);
  if (!match) throw new BadValue(`'${text}' is not a date (YYYY-MM-DD, optionally with THH:MM[:SS], or YYYY-MM or YYYY)`);
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const parts = {
    year: Number(year),
    month: month === undefined ? 1 : Number(month),
    day: day === undefined ? 1 : Number(day),
    hour: hour === undefined ? 0 : Number(hour),
    minute: minute === undefined ? 0 : Number(minute),
    second: second === undefined ? 0 : Number(second),
    ms: fraction === undefined ? 0 : Number(fraction.padEnd(3, '0')),
  };
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second, parts.ms);
  if (!sameParts(new Date(wall), parts)) throw new BadValue(`'${text}' is not a valid date`);
  const lo = wall - zoneOffsetMs(zone, text);
  const next = new Date(lo);
  if (month === undefined) next.setUTCFullYear(next.getUTCFullYear() + 1);
  else if (day === undefined) next.setUTCMonth(next.getUTCMonth() + 1);
  else if (hour === undefined) next.setUTCDate(next.getUTCDate() + 1);
  else if (second === undefined) next.setUTCMinutes(next.getUTCMinutes() + 1);
  else if (fraction === undefined) next.setUTCSeconds(next.getUTCSeconds() + 1);
  else next.setUTCMilliseconds(next.getUTCMilliseconds() + 1);
  return { lo, hi: next.getTime() };
}

function sameParts(date: Date, parts: { year: number; month: number; day: number; hour: number; minute: number; second: number }): boolean {
  return (
    date.getUTCFullYear() === parts.year &&
    date.getUTCMonth() === parts.month - 1 &&
    date.getUTCDate() === parts.day &&
    date.getUTCHours() === parts.hour &&
    date.getUTCMinutes() === parts.minute &&
    date.getUTCSeconds() === parts.second
  );
}

/** `Z` -> 0, `+02:00` / `+0200` -> 2 h, none -> 0 (UTC). */
function zoneOffsetMs(zone: string | undefined, text: string): number {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  const hours = Number(match?.[2]);
  const minutes = Number(match?.[3]);
  if (!match || hours > 23 || minutes > 59) throw new BadValue(`'${text}' has an invalid zone '${zone}'`);
  return (match[1] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}

/** `yes`/`no` (also true/false, 1/0) for `gps:`. */
export function parseYesNo(text: string): boolean {
  const lower = text.toLowerCase();
  if (['yes', 'true', '1', 'y'].includes(lower)) return true;
  if (['no', 'false', '0', 'n'].includes(lower)) return false;
  throw new BadValue(`'${text}' is not yes or no`);
}

/** A sha256 value: 64 hex digits, returned lower-case. */
export function parseSha256(text: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new BadValue(`'${text}' is not a sha256 (64 hex digits)`);
  return text.toLowerCase();
}

/** An extension as indexed: lower-case, without the leading dot. */
export function normalizeExtension(text: string): string {
  const ext = text.replace(/^\./, '').toLowerCase();
  if (ext === '' || ext.includes('/')) throw new BadValue(`'${text}' is not a file extension`);
  return ext;
}
