import { ConfigError, ConfigErrors } from './errors.js';

/** `$${X}` (escaped, stays literal) or `${NAME}` / `${NAME:-fallback}`. */
const REFERENCE = /\$\$\{([^}]*)\}|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const TOKEN = /STORAGEDENV(\d+)X/g;

interface Reference {
  /** Variable name; undefined for an escaped literal. */
  name?: string;
  fallback?: string;
  /** The text an escaped reference stands for. */
  literal?: string;
}

/** Text with every reference replaced by a YAML-neutral token, and the table of tokens. */
export interface Tokenized {
  text: string;
  references: Reference[];
}

/**
 * Step 1 of `${VAR}` substitution, before YAML parsing: every reference
 * becomes a plain alphanumeric token, so `{ key: ${S3_KEY} }` is valid YAML
 * and a secret's value can never change the document's shape.
 */
export function tokenizeEnv(text: string): Tokenized {
  const references: Reference[] = [];
  const out = text.replace(REFERENCE, (_whole, escaped: string | undefined, name: string | undefined, fallback: string | undefined) => {
    references.push(escaped !== undefined ? { literal: '${' + escaped + '}' } : { name: name!, ...(fallback !== undefined ? { fallback } : {}) });
    return `STORAGEDENV${references.length - 1}X`;
  });
  return { text: out, references };
}

/**
 * Step 2, on the parsed tree: tokens become values from `env`, always as
 * text (a password of digits stays a string; the schema reads numbers and
 * booleans from text where a key expects one). Unset variables without a fallback are ConfigErrors naming key and variable
 * (all of them at once).
 */
export function substituteEnv(value: unknown, references: Reference[], env: NodeJS.ProcessEnv, file: string): unknown {
  const missing: ConfigError[] = [];
  const result = walk(value, '', (text, key) => substituteString(text, references, env, file, key, missing));
  if (missing.length > 0) throw new ConfigErrors(missing);
  return result;
}

function walk(value: unknown, key: string, onString: (text: string, key: string) => unknown): unknown {
  if (typeof value === 'string') return onString(value, key);
  if (Array.isArray(value)) return value.map((item, i) => walk(item, `${key}[${i}]`, onString));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, key === '' ? k : `${key}.${k}`, onString);
    return out;
  }
  return value;
}

function substituteString(
  text: string,
  references: Reference[],
  env: NodeJS.ProcessEnv,
  file: string,
  key: string,
  missing: ConfigError[],
): string {
  const resolve = (index: number): string => {
    const ref = references[index];
    if (ref === undefined) return '';
    if (ref.literal !== undefined) return ref.literal;
    const found = env[ref.name!];
    if (found !== undefined && (found !== '' || ref.fallback === undefined)) return found;
    if (ref.fallback !== undefined) return ref.fallback;
    missing.push(new ConfigError(file, key, `environment variable ${ref.name} is not set (used as \${${ref.name}})`));
    return '';
  };
  return text.replace(TOKEN, (_t, index: string) => resolve(Number(index)));
}
