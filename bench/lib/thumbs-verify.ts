import { join } from 'node:path';
import sharp from 'sharp';
import type { SourcePhoto } from './thumbs-images.js';
import { thumbnailName, type ThumbnailWork } from './thumbs-plain.js';

/** What the two sides' outputs had in common. */
export interface OutputCheck {
  /** Thumbnails compared (one per photo and size). */
  compared: number;
  /** Thumbnails whose format or dimensions differ between the sides, or that one side lacks (first 10 described). */
  mismatches: string[];
  mismatchCount: number;
}

/**
 * Proves both sides did the same work: every photo has, for every size, a
 * thumbnail on each side with the same format and the same dimensions
 * (orientation included: a rotated photo's thumbnails are portrait on both
 * sides). Header reads only.
 */
export async function compareOutputs(photos: readonly SourcePhoto[], work: ThumbnailWork, plainDir: string, pipelineDir: string): Promise<OutputCheck> {
  const mismatches: string[] = [];
  let compared = 0;
  for (const photo of photos) {
    for (const size of work.sizes) {
      const name = thumbnailName(photo.name, size, work.format);
      const [plain, pipeline] = await Promise.all([header(join(plainDir, name)), header(join(pipelineDir, name))]);
      compared++;
      if (plain === pipeline && plain !== 'missing') continue;
      mismatches.push(`${name}: plain ${plain}, pipeline ${pipeline}`);
    }
  }
  return { compared, mismatches: mismatches.slice(0, 10), mismatchCount: mismatches.length };
}

/** 'webp 150x150', or 'missing'. */
async function header(path: string): Promise<string> {
  try {
    const meta = await sharp(path).metadata();
    return `${meta.format} ${meta.width}x${meta.height}`;
  } catch {
    return 'missing';
  }
}
