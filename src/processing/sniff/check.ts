import { canonicalExtension, extensionOf, extensionsAgree, isReliablySniffed } from './extensions.js';
import type { SniffResult } from './sniff.js';

/** Whether a name's extension agrees with the sniffed content, and why not. */
export type ExtensionCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks that a file's extension does not lie about its content.
 * - Content sniffed as a known format must match the extension, allowing
 *   spellings (jpeg/jpg, tiff/tif), container families (ogg/opus, tgz/gz)
 *   and formats that legitimately wear other names (a zip as .docx or .jar,
 *   XML as .svg). A `.jpg` holding a PNG, or a `.txt` holding an executable,
 *   is rejected. A name without extension, or a generic one (.bin, .dat,
 *   .tmp), claims nothing and agrees with anything.
 * - Content sniffed as nothing (text, scripts, unknown data) is rejected only
 *   when the extension names a format file-type always recognises: a `.jpg`
 *   that is a shell script is rejected, a `.txt` or `.csv` is fine.
 */
export function checkExtension(name: string, sniffed: SniffResult | undefined): ExtensionCheck {
  const claimed = extensionOf(name);
  if (sniffed !== undefined) {
    if (claimed === '' || extensionsAgree(claimed, sniffed.ext)) return { ok: true };
    return { ok: false, reason: `'${name}' is named .${claimed} but its content is ${sniffed.mime} (.${sniffed.ext})` };
  }
  if (claimed !== '' && isReliablySniffed(claimed)) {
    return { ok: false, reason: `'${name}' is named .${claimed} but its content is not recognised as .${canonicalExtension(claimed)} (nor any known format)` };
  }
  return { ok: true };
}

