/**
 * sharp's input format name for each sniffed content type (file-type's
 * mime) that the image functions decode; a type missing here is not an
 * image they take. Plain data: importing it loads no image library.
 */
export const DECODABLE_FORMAT_OF_MIME: Readonly<Record<string, string>> = Object.freeze({
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/apng': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'heif',
  'image/heic': 'heif',
  'image/heif': 'heif',
  'image/tiff': 'tiff',
});
