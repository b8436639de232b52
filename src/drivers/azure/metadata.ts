import { FsError } from '../../core/errors.js';

/**
 * Azure metadata names must be C# identifiers (letters, digits, '_', not
 * starting with a digit) and values travel as HTTP header values (printable
 * ASCII, no leading or trailing blanks). storaged users may give any string
 * key and value, so both are encoded REVERSIBLY rather than rejected:
 *
 * - Keys are lower-cased first (FileStat metadata keys are lower-case, and
 *   Azure compares names case-insensitively). A key that is then a plain
 *   identifier `[a-z_][a-z0-9_]*` is stored as is; any other key (with '-',
 *   '.', spaces, unicode, a leading digit) and any key that itself starts
 *   with the escape prefix is stored as `sdx_` + hex of its UTF-8 bytes.
 *   Example: `content-id` is stored as `sdx_636f6e74656e742d6964`.
 * - Values that are printable ASCII without surrounding blanks are stored as
 *   is; any other value (unicode, control characters, surrounding blanks, the
 *   empty string, or one that looks like an encoded value) is stored as
 *   `=?utf-8?b?BASE64?=` (the RFC 2047 form S3 also uses).
 *
 * Blobs written by other tools with `sdx_` names that are not hex come back
 * unchanged. The only rejected key is the empty one (EINVAL).
 */
const KEY_ESCAPE = 'sdx_';
const PLAIN_KEY = /^[a-z_][a-z0-9_]*$/;
const HEX = /^(?:[0-9a-f]{2})+$/;
const VALUE_PREFIX = '=?utf-8?b?';
const VALUE_SUFFIX = '?=';
const PLAIN_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
const ENCODED_VALUE = /^=\?utf-8\?b\?([A-Za-z0-9+/]*={0,2})\?=$/i;

/**
 * Encodes user metadata into Azure-safe names and values (see the module
 * comment). EINVAL for an empty key or a value that is no string (`op`
 * names the operation in the error).
 */
export function encodeMetadata(metadata: Record<string, string>, key: string, op = 'write'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) {
    if (name === '') {
      throw new FsError('EINVAL', `${op} '${key}': metadata keys must not be empty`, { path: key, op });
    }
    if (typeof value !== 'string') {
      throw new FsError('EINVAL', `${op} '${key}': metadata value of '${name}' must be a string`, { path: key, op });
    }
    out[encodeName(name.toLowerCase())] = encodeValue(value);
  }
  return out;
}

/** Decodes metadata read from Azure back to the user's lower-case keys and values. */
export function decodeMetadata(metadata: Record<string, string> | undefined): Record<string, string> | undefined {
  if (metadata === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) out[decodeName(name.toLowerCase())] = decodeValue(value);
  return out;
}

function encodeName(name: string): string {
  if (PLAIN_KEY.test(name) && !name.startsWith(KEY_ESCAPE)) return name;
  return KEY_ESCAPE + Buffer.from(name, 'utf8').toString('hex');
}

function decodeName(name: string): string {
  if (!name.startsWith(KEY_ESCAPE)) return name;
  const hex = name.slice(KEY_ESCAPE.length);
  return HEX.test(hex) ? Buffer.from(hex, 'hex').toString('utf8') : name;
}

function encodeValue(value: string): string {
  if (PLAIN_VALUE.test(value) && !ENCODED_VALUE.test(value)) return value;
  return VALUE_PREFIX + Buffer.from(value, 'utf8').toString('base64') + VALUE_SUFFIX;
}

function decodeValue(value: string): string {
  const match = ENCODED_VALUE.exec(value);
  return match ? Buffer.from(match[1] ?? '', 'base64').toString('utf8') : value;
}
