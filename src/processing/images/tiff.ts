/**
 * A minimal, bounds-checked reader of TIFF image file directories (IFDs), the
 * structure EXIF is stored in. It reads only what storaged's metadata needs:
 * IFD0, the EXIF sub-IFD and the GPS sub-IFD. No npm EXIF parser is installed
 * (exif-reader is not a dependency), so this stays deliberately small.
 *
 * Malformed input never throws: a bad offset, an unknown type or an entry
 * that points outside the buffer is skipped.
 */

/** A tag's decoded value: text for ASCII, numbers for integer and rational types, raw bytes for UNDEFINED. */
export type TiffValue = string | number[] | Buffer;

/** Tag number -> decoded value, for one IFD. */
export type TiffDirectory = Map<number, TiffValue>;

/** The directories of an EXIF block. Missing ones are empty maps. */
export interface ExifDirectories {
  ifd0: TiffDirectory;
  exif: TiffDirectory;
  gps: TiffDirectory;
}

/** Pointer tags in IFD0. */
const EXIF_IFD_POINTER = 0x8769;
const GPS_IFD_POINTER = 0x8825;

/** Bytes per value of each TIFF field type. */
const TYPE_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };

/** An IFD with more entries than this is treated as garbage. */
const MAX_ENTRIES = 1000;
/** Numeric arrays longer than this are cut (GPS and camera tags have at most a few values). */
const MAX_VALUES = 64;

const EXIF_PREFIX = Buffer.from('Exif\0\0', 'latin1');

/**
 * Reads IFD0 and the EXIF and GPS sub-IFDs from an EXIF block, as sharp's
 * `metadata().exif` gives it (with or without the leading "Exif\0\0").
 * Returns undefined when the block has no valid TIFF header.
 */
export function readExifDirectories(block: Buffer): ExifDirectories | undefined {
  const tiff = block.subarray(0, EXIF_PREFIX.length).equals(EXIF_PREFIX) ? block.subarray(EXIF_PREFIX.length) : block;
  if (tiff.length < 8) return undefined;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const reader = new TiffReader(tiff, order === 'II');
  if (reader.u16(2) !== 42) return undefined;
  const ifd0 = reader.directory(reader.u32(4));
  const pointer = (tag: number): number | undefined => {
    const value = ifd0.get(tag);
    return Array.isArray(value) && value[0] !== undefined ? value[0] : undefined;
  };
  const exifOffset = pointer(EXIF_IFD_POINTER);
  const gpsOffset = pointer(GPS_IFD_POINTER);
  return {
    ifd0,
    exif: exifOffset === undefined ? new Map() : reader.directory(exifOffset),
    gps: gpsOffset === undefined ? new Map() : reader.directory(gpsOffset),
  };
}

class TiffReader {
  constructor(
    private readonly buf: Buffer,
    private readonly little: boolean,
  ) {}

  u16(at: number): number {
    return this.little ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at);
  }

  u32(at: number): number {
    return this.little ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at);
  }

  private i32(at: number): number {
    return this.little ? this.buf.readInt32LE(at) : this.buf.readInt32BE(at);
  }

  /** Reads the IFD at `offset`; an out-of-range offset gives an empty directory. */
  directory(offset: number): TiffDirectory {
    const entries: TiffDirectory = new Map();
    if (offset < 8 || offset + 2 > this.buf.length) return entries;
    const count = this.u16(offset);
    if (count > MAX_ENTRIES) return entries;
    for (let i = 0; i < count; i++) {
      const at = offset + 2 + i * 12;
      if (at + 12 > this.buf.length) break;
      const value = this.entry(at);
      if (value !== undefined) entries.set(this.u16(at), value);
    }
    return entries;
  }

  /** Decodes the 12-byte entry at `at`: tag, type, count, value or offset. */
  private entry(at: number): TiffValue | undefined {
    const type = this.u16(at + 2);
    const count = this.u32(at + 4);
    const size = TYPE_SIZES[type];
    if (size === undefined || count === 0) return undefined;
    const total = size * count;
    const start = total <= 4 ? at + 8 : this.u32(at + 8);
    if (start + total > this.buf.length) return undefined;
    switch (type) {
      case 2:
        return this.buf.toString('latin1', start, start + total).replace(/\0[\s\S]*$/, '').trim();
      case 7:
        return Buffer.from(this.buf.subarray(start, start + total));
      default:
        return this.numbers(type, start, Math.min(count, MAX_VALUES));
    }
  }

  private numbers(type: number, start: number, count: number): number[] {
    const size = TYPE_SIZES[type]!;
    const values: number[] = [];
    for (let i = 0; i < count; i++) {
      const at = start + i * size;
      values.push(this.number(type, at));
    }
    return values;
  }

  private number(type: number, at: number): number {
    switch (type) {
      case 1:
        return this.buf.readUInt8(at);
      case 6:
        return this.buf.readInt8(at);
      case 3:
        return this.u16(at);
      case 8:
        return this.little ? this.buf.readInt16LE(at) : this.buf.readInt16BE(at);
      case 4:
        return this.u32(at);
      case 9:
        return this.i32(at);
      case 5:
        return ratio(this.u32(at), this.u32(at + 4));
      case 10:
        return ratio(this.i32(at), this.i32(at + 4));
      case 11:
        return this.little ? this.buf.readFloatLE(at) : this.buf.readFloatBE(at);
      default:
        return this.little ? this.buf.readDoubleLE(at) : this.buf.readDoubleBE(at);
    }
  }
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? Number.NaN : numerator / denominator;
}
