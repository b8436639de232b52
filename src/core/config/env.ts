import { ConfigError } from './errors.js';

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-fallback}` in every string of a parsed YAML
 * tree with values from `env`. Substitution happens after parsing, so a
 * secret containing YAML syntax cannot change the document's shape. `$${X}`
 * stays a literal `${X}`. A variable that is unset and has no fallback is a
 * ConfigError naming the key and the variable.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, file: string, key = ''): unknown {
  if (typeof value === 'string') return substituteString(value, env, file, key);
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, file, `${key}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, file, key === '' ? k : `${key}.${k}`);
    return out;
  }
  return value;
}

function substituteString(text: string, env: NodeJS.ProcessEnv, file: string, key: string): string {
  const ESCAPED = '\u0000ESC\u0000';
  const guarded = text.replace(/\$\$\{/g, ESCAPED);
  const replaced = guarded.replace(VARIABLE, (_whole, name: string, fallback: string | undefined) => {
    const found = env[name];
    if (found !== undefined && (found !== '' || fallback === undefined)) return found;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(file, key, `environment variable ${name} is not set (used as \${${name}})`);
  });
  return replaced.split(ESCAPED).join('${');
}
