import type { z } from 'zod';
import { ConfigError, suggest } from '../../core/config/errors.js';
import { isFsError } from '../../core/errors.js';
import { normalizeDirectory } from '../../core/paths.js';

/** Records a problem of the disk's key `key` (e.g. 'keys.k2026'). */
export type Problem = (key: string, text: string) => void;

/** Bytes of an encrypted disk's key (AES-256). */
const KEY_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * Decodes an encrypted disk's keys: base64 (standard or URL-safe) or
 * `hex:` followed by hex digits, each exactly 32 bytes once decoded; bytes
 * (run-time configs) are taken as they are. A bad key is a problem at
 * `keys.<id>` whose text never contains the key.
 */
export function decodeKeys(keys: Record<string, string | Uint8Array>, problem: Problem): Record<string, Uint8Array> {
  const decoded: Record<string, Uint8Array> = {};
  if (Object.keys(keys).length === 0) problem('keys', 'give at least one key (id: base64 of 32 bytes)');
  for (const [id, value] of Object.entries(keys)) {
    const bytes = decodeKey(value);
    if (typeof bytes === 'string') problem(`keys.${id}`, bytes);
    else if (bytes.length !== KEY_BYTES) {
      problem(`keys.${id}`, `must decode to ${KEY_BYTES} bytes (AES-256), got ${bytes.length} bytes (e.g. openssl rand -base64 32)`);
    } else decoded[id] = bytes;
  }
  return decoded;
}

/** The key's bytes, or why it cannot be read (without its value). */
function decodeKey(value: string | Uint8Array): Uint8Array | string {
  if (value instanceof Uint8Array) return value;
  const text = value.trim();
  if (text.startsWith('hex:')) {
    const digits = text.slice(4);
    return HEX.test(digits) ? Buffer.from(digits, 'hex') : 'is not valid hex after `hex:` (an even number of 0-9a-f digits)';
  }
  if (text === '') return 'is empty (an unset variable with an empty fallback?)';
  return BASE64.test(text) ? Buffer.from(text, 'base64') : 'is neither base64 nor `hex:` followed by hex digits';
}

/** Why `value` is not an absolute http(s) URL, or undefined when it is one. */
export function httpUrlProblem(value: string): string | undefined {
  const protocol = urlProtocol(value);
  return protocol === 'http:' || protocol === 'https:' ? undefined : `'${value}' is not an absolute http:// or https:// URL`;
}

/** Why `value` is not a redis:// or rediss:// URL, or undefined when it is one (credentials are never shown). */
export function redisUrlProblem(value: string): string | undefined {
  const protocol = urlProtocol(value);
  return protocol === 'redis:' || protocol === 'rediss:' ? undefined : 'is not a redis:// or rediss:// URL';
}

function urlProtocol(value: string): string | undefined {
  try {
    return new URL(value).protocol;
  } catch {
    return undefined;
  }
}

/** A scoped prefix, normalized: it must name a folder below the inner root (not absolute, not empty, not climbing out). */
export function checkPrefix(prefix: string, problem: Problem): string {
  if (prefix.startsWith('/')) {
    problem('prefix', `'${prefix}' is absolute; give a folder relative to the inner disk's root, e.g. tenants/acme`);
    return prefix;
  }
  try {
    const folder = normalizeDirectory(prefix);
    if (folder === '') problem('prefix', `'${prefix}' names the inner disk's root; give a folder below it`);
    return folder;
  } catch (err) {
    problem('prefix', isFsError(err) ? err.message : String(err));
    return prefix;
  }
}

/**
 * Zod issues as ConfigErrors worded as the loader words them: an unknown key
 * with the closest known one and the list of known keys, a missing one as
 * `required for a <driver> disk`. `at` turns a key into `disks.<name>.<key>`.
 */
export function issuesToErrors(error: z.ZodError, source: string, at: (key: string) => string, knownKeys: string[], driver: string): ConfigError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys;
      const nested = issue.path.length > 0;
      const key = keys.length === 1 ? (nested ? `${path}.${keys[0]!}` : keys[0]!) : path;
      const text = keys
        .map((k) => {
          const hint = nested ? undefined : suggest(k, knownKeys);
          return `unknown key '${k}' for ${article(driver)} ${driver} disk${hint ? ` (did you mean '${hint}'?)` : ''}`;
        })
        .join('; ');
      return new ConfigError(source, at(key), nested ? text : `${text}; known keys: ${knownKeys.join(', ')}`);
    }
    const missing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
    return new ConfigError(source, at(path), missing ? `required for ${article(driver)} ${driver} disk` : issue.message);
  });
}

function article(word: string): string {
  return /^[aefiosx]/i.test(word) ? 'an' : 'a';
}
