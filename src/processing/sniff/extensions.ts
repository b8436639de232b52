import { supportedExtensions } from 'file-type';

/**
 * Spellings of one extension, the first being the canonical one (file-type's).
 * `photo.jpeg` is a `.jpg`; an allowed-extensions rule of `jpg` admits it.
 */
const SPELLINGS: readonly (readonly string[])[] = [
  ['jpg', 'jpeg', 'jpe', 'jfif', 'pjpeg', 'pjp'],
  ['tif', 'tiff'],
  ['heic', 'heif'],
  ['mid', 'midi'],
  ['aif', 'aiff', 'aifc'],
  ['mpg', 'mpeg'],
  ['wav', 'wave'],
  ['htm', 'html'],
  ['yml', 'yaml'],
];

/**
 * Formats that share one container, so content sniffed as one may carry the
 * name of another (an Ogg file holding Opus, an MP4 holding only audio, a
 * `.tgz` sniffed as `tar.gz`). Used for the type check only.
 */
const FAMILIES: readonly (readonly string[])[] = [
  ['png', 'apng'],
  ['gz', 'tgz', 'tar.gz'],
  ['bz2', 'tbz', 'tbz2'],
  ['xz', 'txz'],
  ['mp4', 'm4v', 'm4a', 'm4b', 'm4p', 'f4v', 'f4a', 'f4b', 'f4p'],
  ['mov', 'qt'],
  ['ogg', 'oga', 'ogv', 'ogm', 'ogx', 'opus', 'spx'],
  ['mkv', 'mka', 'mks', 'mk3d'],
  ['mp3', 'mp2', 'mp1'],
  ['exe', 'dll', 'sys', 'scr', 'efi', 'cpl', 'ocx', 'drv'],
  ['elf', 'so', 'o', 'ko', 'axf'],
  ['macho', 'dylib', 'bundle'],
  ['ps', 'eps'],
  ['jp2', 'jpx', 'jpf', 'jpm', 'mj2', 'j2k', 'j2c'],
  ['mts', 'ts', 'm2ts', 'm2t'],
];

/**
 * Names a content type may legitimately wear besides its own: a zip is also
 * a .jar or .docx, an OLE compound file a .doc or .msi, an XML document an
 * .svg, a TIFF a camera raw, a PDF an Illustrator .ai. One-directional: a
 * `.zip` whose content sniffs as a docx is fine through {@link PARENT}.
 */
const ALSO_NAMED: Readonly<Record<string, readonly string[]>> = {
  zip: ['jar', 'war', 'ear', 'apk', 'aab', 'aar', 'xpi', 'ipa', 'docx', 'docm', 'dotx', 'dotm', 'xlsx', 'xlsm', 'xltx', 'xltm', 'pptx', 'pptm', 'potx', 'potm', 'ppsx', 'ppsm', 'odt', 'ods', 'odp', 'odg', 'ott', 'ots', 'otp', 'otg', 'epub', 'kmz', '3mf', 'vsdx', 'whl', 'nupkg', 'cbz', 'xps', 'oxps', 'appx', 'msix', 'usdz', 'ora', 'kra', 'idml', 'sketch'],
  cfb: ['doc', 'dot', 'xls', 'xlt', 'ppt', 'pot', 'pps', 'msg', 'msi', 'msp', 'vsd', 'pub', 'mpp', 'wps'],
  xml: ['svg', 'xhtml', 'htm', 'html', 'xsd', 'xsl', 'xslt', 'rss', 'atom', 'kml', 'gpx', 'plist', 'dae', 'xaml', 'wsdl', 'xlf', 'xliff', 'resx', 'csproj', 'config', 'rdf', 'opf', 'ncx', 'musicxml', 'drawio', 'graphml', 'gml', 'xmp'],
  tif: ['dng', 'nef', 'nrw', 'arw', 'srf', 'sr2', 'cr2', 'orf', 'rw2', 'pef', 'srw', 'erf', '3fr', 'mef', 'mos', 'kdc', 'dcr', 'iiq', 'fff'],
  sqlite: ['db', 'db3', 'sqlite3', 'sdb', 'gpkg', 'mbtiles'],
  asf: ['wma', 'wmv'],
  ar: ['a', 'lib'],
  pdf: ['ai'],
  rtf: ['doc'],
  gz: ['svgz'],
  mpg: ['vob'],
};

/** Specialised formats file-type recognises inside a general container: a `.zip` holding a docx is a zip. */
const PARENT: ReadonlyMap<string, string> = new Map<string, string>([
  ...['jar', 'apk', 'xpi', 'docx', 'docm', 'dotx', 'dotm', 'xlsx', 'xlsm', 'xltx', 'xltm', 'pptx', 'pptm', 'potx', 'potm', 'ppsx', 'ppsm']
    .concat(['odt', 'ods', 'odp', 'odg', 'ott', 'ots', 'otp', 'otg', 'epub', '3mf', 'vsdx'])
    .map((ext): [string, string] => [ext, 'zip']),
  ...['dng', 'nef', 'arw', 'cr2', 'orf', 'rw2'].map((ext): [string, string] => [ext, 'tif']),
]);

/**
 * Extensions file-type lists but cannot always recognise (text formats with
 * an optional header, headerless audio frames, old tar, generic names): a
 * file so named that sniffs as nothing is not rejected.
 */
const WEAKLY_DETECTED = new Set([
  'xml', 'ics', 'vcf', 'vtt', 'reg', 'pgp', 'stl', 'fbx', 'mp1', 'mp2', 'mp3', 'aac', 'ac3', 'mpg', 'mts', 'dcm',
  'tar', 'cpio', 'dmg', 'eps', 'sav', 'jmp', 'skp', 'dat', 'alias', 'asar',
]);

/** Extensions that claim nothing about the content (raw data, temporary names). */
const GENERIC = new Set(['bin', 'dat', 'data', 'raw', 'tmp', 'temp', 'bak', 'blob', 'dump', 'part']);

const spellingOf = indexGroups(SPELLINGS);
const familyOf = indexGroups(FAMILIES);

/**
 * The extension of a file name, lower-case and without its dot: the part
 * after the last dot of the last path segment, '' when there is none
 * (`README`, `.bashrc`, `dir.d/file`).
 */
export function extensionOf(name: string): string {
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** An extension as written in a rule (`.JPEG`, `jpeg`) in canonical spelling (`jpg`). */
export function canonicalExtension(extension: string): string {
  const bare = extension.trim().replace(/^\./, '').toLowerCase();
  return spellingOf.get(bare) ?? bare;
}

/** True when a name claiming `claimed` may hold content that file-type sniffed as `sniffed`. */
export function extensionsAgree(claimed: string, sniffed: string): boolean {
  const name = canonicalExtension(claimed);
  const content = canonicalExtension(sniffed);
  if (name === content || GENERIC.has(name)) return true;
  const family = familyOf.get(content);
  if (family !== undefined && family === familyOf.get(name)) return true;
  if (ALSO_NAMED[content]?.includes(name)) return true;
  return PARENT.get(content) === name;
}

/**
 * True when file-type reliably recognises files with this extension, so one
 * that sniffs as nothing is not what its name says (a `.jpg` that is text).
 */
export function isReliablySniffed(claimed: string): boolean {
  const name = canonicalExtension(claimed);
  const head = familyOf.get(name) ?? name;
  if (GENERIC.has(name) || WEAKLY_DETECTED.has(name) || WEAKLY_DETECTED.has(head)) return false;
  return SUPPORTED.has(name) || SUPPORTED.has(head);
}

const SUPPORTED: ReadonlySet<string> = new Set<string>(supportedExtensions);

/** Maps every member of each group to the group's first member. */
function indexGroups(groups: readonly (readonly string[])[]): Map<string, string> {
  const index = new Map<string, string>();
  for (const group of groups) for (const member of group) index.set(member, group[0] as string);
  return index;
}
