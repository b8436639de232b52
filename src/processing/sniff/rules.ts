import { FsError } from '../../core/errors.js';
import { checkExtension } from './check.js';
import { canonicalExtension, extensionOf } from './extensions.js';
import type { SniffResult } from './sniff.js';

/** A folder's upload rules; an absent rule does not apply. */
export interface UploadRules {
  /** Largest accepted size in bytes (equal passes). */
  maxSize?: number;
  /**
   * Accepted extensions, case-insensitive, with or without the dot; spellings
   * count as one (`jpg` admits `.jpeg`). `''` admits names without extension;
   * an empty list admits nothing.
   */
  allowedExtensions?: readonly string[];
}

/** The file the rules are checked against: its name, size, and sniffed type (undefined: none recognised). */
export interface UploadCandidate {
  name: string;
  size: number;
  sniffed: SniffResult | undefined;
}

/** Which rule refused a file. */
export type UploadRule = 'max-size' | 'extension' | 'type-mismatch';

/** Accepted, or refused by one rule with a reason naming the file and the value at fault. */
export type UploadRuleResult = { ok: true } | { ok: false; reason: string; rule: UploadRule };

/**
 * Checks a file against upload rules, in order: size, allowed extensions,
 * then that the sniffed type agrees with the extension (always checked, see
 * checkExtension). Returns the first refusal. Throws EINVAL for a maxSize
 * that is not a non-negative number.
 */
export function checkUploadRules(file: UploadCandidate, rules: UploadRules): UploadRuleResult {
  if (rules.maxSize !== undefined) {
    if (!(rules.maxSize >= 0)) throw new FsError('EINVAL', `upload rule maxSize must be a non-negative number of bytes, got ${rules.maxSize}`, { op: 'config' });
    if (file.size > rules.maxSize) {
      return { ok: false, rule: 'max-size', reason: `'${file.name}' is ${file.size} bytes, over the ${rules.maxSize}-byte limit` };
    }
  }
  if (rules.allowedExtensions !== undefined) {
    const claimed = extensionOf(file.name);
    const allowed = new Set(rules.allowedExtensions.map(canonicalExtension));
    if (!allowed.has(canonicalExtension(claimed))) {
      const shown = claimed === '' ? 'has no extension' : `has extension .${claimed}`;
      const list = rules.allowedExtensions.length === 0 ? 'none' : rules.allowedExtensions.join(', ');
      return { ok: false, rule: 'extension', reason: `'${file.name}' ${shown}, not one of the allowed extensions (${list})` };
    }
  }
  const typeCheck = checkExtension(file.name, file.sniffed);
  if (!typeCheck.ok) return { ok: false, rule: 'type-mismatch', reason: typeCheck.reason };
  return { ok: true };
}
