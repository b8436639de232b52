import { stat } from 'node:fs/promises';
import { fromSystemError } from '../../../core/errors.js';
import { ImageRejectedError, imageMetadata, type ExifSummary, type ImageLimits, type ImageMetadata } from '../../../processing/images/index.js';
import { sniffFile } from '../../../processing/sniff/index.js';
import type { FileMetadataRecord, MetadataSink, Step, StepContext, StepOutcome } from '../types.js';
import { sha256OfFile } from './files.js';
import { classifySniffed } from './image-input.js';
import { currentPath, inFolder } from './job-paths.js';

/** Options of the metadata step (config hook `metadata`). */
export interface MetadataStepOptions {
  sink: MetadataSink;
  /** The disk of a folder inside a mounted disk; absent for a local folder. */
  disk?: string;
  /** The watched folder's path inside its disk ('' or absent: the whole disk, or a local folder). */
  folderPath?: string;
  limits?: Partial<ImageLimits>;
}

/**
 * Describes the input: size, sniffed type, sha256, and for images the
 * displayed dimensions and EXIF (camera, taken-at, GPS; the rest in
 * `extra`), and upserts it into the metadata index under the file's path
 * from the disk's root (after a conversion in the same job, the converted
 * file's). Never rejects a file: an image whose header sharp refuses is
 * recorded without dimensions (`extra.imageError`). Detail: the record.
 * Idempotent (an upsert of the same record).
 */
export function metadataStep(options: MetadataStepOptions, name = 'metadata'): Step {
  return {
    name,
    async run(ctx: StepContext): Promise<StepOutcome> {
      const info = await stat(ctx.input).catch((err: unknown) => Promise.reject(fromSystemError(err, { path: ctx.input, op: 'metadata' })));
      const [sniffed, sha256] = await Promise.all([sniffFile(ctx.input), sha256OfFile(ctx.input, ctx.signal)]);
      const kind = classifySniffed(sniffed, options.limits);
      const record: FileMetadataRecord = {
        watch: ctx.job.watch,
        path: inFolder(options.folderPath, currentPath(ctx)),
        size: info.size,
        sha256,
        indexedAtMs: Date.now(),
      };
      if (options.disk !== undefined) record.disk = options.disk;
      if (sniffed !== undefined) record.mime = sniffed.mime;
      if (kind.image) await describeImage(ctx.input, options.limits, record);
      options.sink.upsert(record);
      return { kind: 'next', detail: { ...record } };
    },
  };
}

/** Adds dimensions, camera, time, GPS and the rest of the EXIF summary to `record`. */
async function describeImage(input: string, limits: Partial<ImageLimits> | undefined, record: FileMetadataRecord): Promise<void> {
  let image: ImageMetadata;
  try {
    image = await imageMetadata(input, limits ? { limits } : {});
  } catch (err) {
    if (!(err instanceof ImageRejectedError)) throw err;
    record.extra = { imageError: { reason: err.reason, message: err.message } };
    return;
  }
  record.width = image.width;
  record.height = image.height;
  const exif = image.exif;
  const camera = cameraOf(exif);
  if (camera !== undefined) record.camera = camera;
  if (exif?.takenAt !== undefined && Number.isFinite(exif.takenAt.getTime())) record.takenAtMs = exif.takenAt.getTime();
  if (exif?.gps !== undefined) {
    record.gpsLatitude = exif.gps.latitude;
    record.gpsLongitude = exif.gps.longitude;
  }
  record.extra = withoutUndefined({
    format: image.format,
    orientation: image.orientation,
    pages: image.pages,
    hasAlpha: image.hasAlpha,
    software: exif?.software,
    gpsAltitude: exif?.gps?.altitude,
    exposure: exif?.exposure,
    lens: exif?.lens,
  });
}

/** 'Canon' + 'EOS R5' -> 'Canon EOS R5'; a model that already names the make ('NIKON D850') is kept as it is. */
export function cameraOf(exif: ExifSummary | undefined): string | undefined {
  const make = exif?.make?.trim();
  const model = exif?.model?.trim();
  if (!make) return model || undefined;
  if (!model) return make;
  return model.toLowerCase().startsWith(make.toLowerCase()) ? model : `${make} ${model}`;
}

function withoutUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
