import sharp from 'sharp';
import { cameraJpeg, pngBomb } from '../../../processing/support/images.js';

export { BLUE, CAMERA_EXIF, RED, cameraJpeg, near, pixelAt, pngBomb } from '../../../processing/support/images.js';

/**
 * Test files for the hook steps, made with sharp (no binary fixtures in the
 * repository). The camera photo and the PNG bomb are the image tests' own.
 */

/** The 12-megapixel camera JPEG (4000x3000 stored, EXIF orientation 6: displays 3000x4000, red block top-right). */
export function twelveMegapixelJpeg(): Promise<Buffer> {
  return cameraJpeg({ width: 4000, height: 3000, orientation: 6 });
}

/** A 50000x50000 PNG header in under 1 KiB: a decompression bomb. */
export function pixelBomb(): Buffer {
  return pngBomb(50_000, 50_000);
}

/** A real JPEG (1200x900) cut at 60% of its bytes: starts like a JPEG, ends early. */
export async function truncatedJpeg(): Promise<Buffer> {
  const whole = await cameraJpeg({ width: 1200, height: 900, orientation: 1 });
  return whole.subarray(0, Math.floor(whole.length * 0.6));
}

/** A shell script, to be named `.jpg`. */
export function scriptBytes(): Buffer {
  return Buffer.from('#!/bin/sh\necho pwned > /tmp/pwned\n');
}

/** A half-transparent white 200x100 PNG to use as a watermark. */
export function watermarkPng(): Promise<Buffer> {
  return sharp({ create: { width: 200, height: 100, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0.5 } } }).png().toBuffer();
}

/** A small landscape PNG (no EXIF) of one colour. */
export function plainPng(width = 640, height = 480): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
}

/** A minimal one-page PDF (sniffed as application/pdf): a file the image steps must pass untouched. */
export function tinyPdf(): Buffer {
  return Buffer.from(
    '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
      '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
  );
}
