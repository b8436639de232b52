/**
 * The processing modules, loaded on first use: `import { Storage } from
 * 'storaged'` must not load libvips (sharp) or file-type for programs that
 * never handle an upload. Node caches each module after the first import.
 */

/** processing/images (sharp). */
export function loadImages(): Promise<typeof import('../../processing/images/index.js')> {
  return import('../../processing/images/index.js');
}

/** processing/sniff (file-type). */
export function loadSniff(): Promise<typeof import('../../processing/sniff/index.js')> {
  return import('../../processing/sniff/index.js');
}
