import { randomBytes, randomUUID } from 'node:crypto';
import type { UploadNaming } from './config.js';
import type { StagedUpload } from './staging.js';

/** Longest stem kept of a client's name, in UTF-8 bytes (room left for '-N', the extension and backend metadata suffixes). */
const MAX_STEM_BYTES = 150;
/** Numbered candidates tried before a random suffix. */
const NUMBERED_CANDIDATES = 1000;

/** 'photo.JPG' -> ['photo', '.JPG']; a name without extension (or a dotfile) -> [name, '']. */
export function splitExtension(name: string): [stem: string, extension: string] {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot)];
}

/**
 * A client's file name made safe as one path segment on any backend:
 * control characters, slashes and characters Windows refuses become '_', a
 * leading dot too (no hidden files), surrounding spaces go, the stem is cut to
 * 150 bytes. Unicode is kept. An empty result is 'upload'.
 */
export function sanitizeName(name: string): string {
  const cleaned = name.replace(/[\u0000-\u001f\u007f/\\<>:"|?*]/g, '_').trim().replace(/^\./, '_');
  const [stem, extension] = splitExtension(cleaned);
  const cut = truncateUtf8(stem, MAX_STEM_BYTES).trim();
  const safeExtension = /^\.[\w-]{1,16}$/.test(extension) ? extension : extension === '' ? '' : `.${truncateUtf8(extension.slice(1), 16)}`;
  return `${cut || 'upload'}${safeExtension}`;
}

/**
 * The stored file name for `naming`: the sanitised client name, the sha256
 * of the stored bytes, or a random UUID; the last two keep the lower-case
 * extension (the sniffed one when the name has none).
 */
export function storedFileName(staged: StagedUpload, naming: UploadNaming): string {
  if (naming === 'original') return sanitizeName(staged.name);
  const [, extension] = splitExtension(sanitizeName(staged.name));
  const suffix = extension !== '' ? extension.toLowerCase() : staged.sniffed ? `.${staged.sniffed.ext}` : '';
  return `${naming === 'hash' ? staged.sha256 : randomUUID()}${suffix}`;
}

/** `yyyy/mm/dd` of `date` in UTC. */
export function dateFolder(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getUTCFullYear()}/${pad(date.getUTCMonth() + 1)}/${pad(date.getUTCDate())}`;
}

/** Joins path parts, skipping empty ones: ('', 'a', 'b.txt') -> 'a/b.txt'. */
export function joinPath(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

/**
 * The names tried for a file whose wanted path may be taken, in order:
 * `dir/photo.jpg`, `dir/photo-1.jpg` ... `dir/photo-999.jpg`, then
 * `dir/photo-<random hex>.jpg` forever.
 */
export function* pathCandidates(wanted: string): Generator<string> {
  yield wanted;
  const slash = wanted.lastIndexOf('/');
  const dir = wanted.slice(0, slash + 1);
  const [stem, extension] = splitExtension(wanted.slice(slash + 1));
  for (let n = 1; n < NUMBERED_CANDIDATES; n++) yield `${dir}${stem}-${n}${extension}`;
  for (;;) yield `${dir}${stem}-${randomBytes(6).toString('hex')}${extension}`;
}

/**
 * Where a thumbnail of the file stored at `stored` goes: `thumbnailDir`,
 * then the stored path relative to `uploadPath` (the whole path when it is
 * not below it), without its extension, then `.<width>x<height>.<format>`.
 * `uploads/2024/05/06/photo.jpg` -> `uploads/thumbnails/2024/05/06/photo.150x150.webp`.
 */
export function thumbnailPath(thumbnailDir: string, uploadPath: string, stored: string, box: { width: number; height: number }, format: string): string {
  const relative = uploadPath !== '' && stored.startsWith(`${uploadPath}/`) ? stored.slice(uploadPath.length + 1) : stored;
  const slash = relative.lastIndexOf('/');
  const [stem] = splitExtension(relative.slice(slash + 1));
  return joinPath(thumbnailDir, `${relative.slice(0, slash + 1)}${stem}.${box.width}x${box.height}.${format}`);
}

/** The extension a stored image of `format` gets. */
export function extensionOfFormat(format: string): string {
  return format === 'jpeg' ? '.jpg' : `.${format}`;
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}
