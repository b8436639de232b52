import { readExifDirectories, type TiffDirectory, type TiffValue } from './tiff.js';

/** GPS position in decimal degrees (south and west negative) and metres (below sea level negative). */
export interface ExifGps {
  latitude: number;
  longitude: number;
  altitude?: number;
}

/** Exposure settings, each only when the camera recorded it. */
export interface ExifExposure {
  /** Exposure time in seconds (1/250 s -> 0.004). */
  time?: number;
  fNumber?: number;
  iso?: number;
  /** Focal length in millimetres. */
  focalLength?: number;
  /** 35 mm-equivalent focal length in millimetres. */
  focalLength35mm?: number;
}

/** The lens, when recorded. */
export interface ExifLens {
  make?: string;
  model?: string;
}

/** The EXIF fields storaged indexes; every field is optional, and an empty group is left out. */
export interface ExifSummary {
  make?: string;
  model?: string;
  software?: string;
  /**
   * When the picture was taken: DateTimeOriginal (else DateTimeDigitized, else
   * DateTime), with OffsetTimeOriginal when present. EXIF times carry no zone
   * otherwise; such a wall-clock time is read as UTC.
   */
  takenAt?: Date;
  gps?: ExifGps;
  exposure?: ExifExposure;
  lens?: ExifLens;
}

const TAG = {
  make: 0x010f,
  model: 0x0110,
  software: 0x0131,
  dateTime: 0x0132,
  exposureTime: 0x829a,
  fNumber: 0x829d,
  iso: 0x8827,
  dateTimeOriginal: 0x9003,
  dateTimeDigitized: 0x9004,
  offsetTimeOriginal: 0x9011,
  subSecTimeOriginal: 0x9291,
  focalLength: 0x920a,
  focalLength35mm: 0xa405,
  lensMake: 0xa433,
  lensModel: 0xa434,
  gpsLatitudeRef: 1,
  gpsLatitude: 2,
  gpsLongitudeRef: 3,
  gpsLongitude: 4,
  gpsAltitudeRef: 5,
  gpsAltitude: 6,
} as const;

/**
 * Summarises a raw EXIF block (sharp's `metadata().exif`). Returns undefined
 * when the block is unreadable or holds none of the fields; never throws.
 * Synchronous but bounded: an EXIF block is at most 64 KiB in JPEG, and the
 * reader caps entries and values.
 */
export function parseExif(block: Buffer | undefined): ExifSummary | undefined {
  if (block === undefined || block.length === 0) return undefined;
  const dirs = readExifDirectories(block);
  if (dirs === undefined) return undefined;
  const { ifd0, exif, gps } = dirs;
  const summary: ExifSummary = {};
  assign(summary, 'make', text(ifd0, TAG.make));
  assign(summary, 'model', text(ifd0, TAG.model));
  assign(summary, 'software', text(ifd0, TAG.software));
  const takenAt =
    exifDate(text(exif, TAG.dateTimeOriginal), text(exif, TAG.offsetTimeOriginal), text(exif, TAG.subSecTimeOriginal)) ??
    exifDate(text(exif, TAG.dateTimeDigitized)) ??
    exifDate(text(ifd0, TAG.dateTime));
  assign(summary, 'takenAt', takenAt);
  assign(summary, 'gps', gpsOf(gps));
  assign(
    summary,
    'exposure',
    group<ExifExposure>({
      time: first(exif, TAG.exposureTime),
      fNumber: first(exif, TAG.fNumber),
      iso: first(exif, TAG.iso),
      focalLength: first(exif, TAG.focalLength),
      focalLength35mm: first(exif, TAG.focalLength35mm),
    }),
  );
  assign(summary, 'lens', group<ExifLens>({ make: text(exif, TAG.lensMake), model: text(exif, TAG.lensModel) }));
  return Object.keys(summary).length === 0 ? undefined : summary;
}

/**
 * Parses an EXIF date "YYYY:MM:DD HH:MM:SS" (the date separators may also be
 * '-'), with an optional offset "+HH:MM" and sub-second digits. Returns
 * undefined for blank or impossible dates ("0000:00:00 00:00:00").
 */
export function exifDate(value: string | undefined, offset?: string, subSeconds?: string): Date | undefined {
  const match = value === undefined ? null : /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(value);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const ms = subSeconds !== undefined && /^\d+$/.test(subSeconds.trim()) ? Math.round(Number(`0.${subSeconds.trim()}`) * 1000) : 0;
  let time = Date.UTC(year, month - 1, day, hour, minute, second, Math.min(ms, 999));
  const zone = offset === undefined ? null : /^([+-])(\d{2}):(\d{2})$/.exec(offset.trim());
  if (zone !== null) {
    const minutes = Number(zone[2]) * 60 + Number(zone[3]);
    time -= (zone[1] === '-' ? -1 : 1) * minutes * 60_000;
  }
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function gpsOf(gps: TiffDirectory): ExifGps | undefined {
  const latitude = degrees(gps.get(TAG.gpsLatitude), text(gps, TAG.gpsLatitudeRef), 'S', 90);
  const longitude = degrees(gps.get(TAG.gpsLongitude), text(gps, TAG.gpsLongitudeRef), 'W', 180);
  if (latitude === undefined || longitude === undefined) return undefined;
  const result: ExifGps = { latitude, longitude };
  const altitude = first(gps, TAG.gpsAltitude);
  if (altitude !== undefined) {
    // AltitudeRef is a BYTE (1 = below sea level); some writers store it as UNDEFINED bytes.
    const ref = gps.get(TAG.gpsAltitudeRef);
    const below = (Buffer.isBuffer(ref) ? ref[0] : numbersOf(ref)?.[0]) === 1;
    result.altitude = below ? -altitude : altitude;
  }
  return result;
}

/** Degrees, minutes, seconds rationals to signed decimal degrees; undefined when missing or out of range. */
function degrees(value: TiffValue | undefined, ref: string | undefined, negativeRef: string, max: number): number | undefined {
  const parts = numbersOf(value);
  if (parts === undefined || parts.length === 0 || parts.some((n) => !Number.isFinite(n) || n < 0)) return undefined;
  const [d = 0, m = 0, s = 0] = parts;
  const magnitude = d + m / 60 + s / 3600;
  if (magnitude > max) return undefined;
  return ref?.toUpperCase() === negativeRef ? -magnitude : magnitude;
}

function numbersOf(value: TiffValue | undefined): number[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

function first(dir: TiffDirectory, tag: number): number | undefined {
  const value = numbersOf(dir.get(tag))?.[0];
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

function text(dir: TiffDirectory, tag: number): string | undefined {
  const value = dir.get(tag);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function group<T extends object>(fields: T): T | undefined {
  const present = Object.entries(fields).filter(([, v]) => v !== undefined);
  return present.length === 0 ? undefined : (Object.fromEntries(present) as T);
}

function assign<K extends keyof ExifSummary>(target: ExifSummary, key: K, value: ExifSummary[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}
