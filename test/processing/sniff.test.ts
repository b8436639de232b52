import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExtension, checkUploadRules, extensionOf, sniffFile, sniffStream, type SniffResult } from '../../src/processing/sniff/index.js';
import { collect, expectCode, expectSyncCode } from '../conformance/support.js';

const PNG: SniffResult = { mime: 'image/png', ext: 'png' };
const JPEG: SniffResult = { mime: 'image/jpeg', ext: 'jpg' };
const SCRIPT = '#!/bin/sh\necho "not a picture"\nrm -rf "$HOME/important"\n';

describe('type sniffing with file-type on real files', () => {
  let dir: string;
  let png: Buffer;
  let jpeg: Buffer;
  let tiff: Buffer;
  let webp: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storaged-sniff-test-'));
    const image = () => sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 200, g: 40, b: 90 } } });
    [png, jpeg, tiff, webp] = await Promise.all([image().png().toBuffer(), image().jpeg({ quality: 80 }).toBuffer(), image().tiff().toBuffer(), image().webp().toBuffer()]);
    await writeFile(join(dir, 'picture.png'), png);
    await writeFile(join(dir, 'photo.jpeg'), jpeg);
    await writeFile(join(dir, 'scan.tiff'), tiff);
    await writeFile(join(dir, 'evil.jpg'), SCRIPT);
    await writeFile(join(dir, 'notes.txt'), 'just some notes\nsecond line\n');
    await writeFile(join(dir, 'empty.bin'), Buffer.alloc(0));
    await mkdir(join(dir, 'folder.png'));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('recognises images made by sharp from a path, from bytes and from a stream', async () => {
    expect(await sniffFile(join(dir, 'picture.png'))).toEqual(PNG);
    expect(await sniffFile(join(dir, 'photo.jpeg'))).toEqual(JPEG);
    expect(await sniffFile(join(dir, 'scan.tiff'))).toEqual({ mime: 'image/tiff', ext: 'tif' });
    expect(await sniffFile(webp)).toEqual({ mime: 'image/webp', ext: 'webp' });
    expect(await sniffFile(createReadStream(join(dir, 'picture.png')))).toEqual(PNG);
    // A truncated JPEG still shows its magic number: sniffing is about the header, not validity.
    expect(await sniffFile(jpeg.subarray(0, 64))).toEqual(JPEG);
  });

  it('finds no type in a shell script, a text file or an empty file', async () => {
    expect(await sniffFile(join(dir, 'evil.jpg'))).toBeUndefined();
    expect(await sniffFile(join(dir, 'notes.txt'))).toBeUndefined();
    expect(await sniffFile(join(dir, 'empty.bin'))).toBeUndefined();
    expect(await sniffFile(Readable.from([Buffer.from(SCRIPT)]))).toBeUndefined();
  });

  it('sniffStream gives the type and a stream with every original byte', async () => {
    const { sniffed, stream } = await sniffStream(createReadStream(join(dir, 'photo.jpeg')));
    expect(sniffed).toEqual(JPEG);
    expect((await collect(stream)).equals(jpeg)).toBe(true);
    const text = await sniffStream(Readable.from([Buffer.from(SCRIPT)]));
    expect(text.sniffed).toBeUndefined();
    expect((await collect(text.stream)).toString()).toBe(SCRIPT);
  });

  it('rejects ENOENT for a missing path and EISDIR for a folder', async () => {
    const missing = await expectCode(sniffFile(join(dir, 'nope.png')), 'ENOENT');
    expect(missing.path).toBe(join(dir, 'nope.png'));
    await expectCode(sniffFile(join(dir, 'folder.png')), 'EISDIR');
  });

  it('rejects a shell script named .jpg, and a PNG named .jpg', async () => {
    const script = checkExtension('evil.jpg', await sniffFile(join(dir, 'evil.jpg')));
    expect(script.ok).toBe(false);
    expect(script.ok === false && script.reason).toContain('evil.jpg');
    expect(checkExtension('holiday.jpg', await sniffFile(png)).ok).toBe(false);
    expect(checkExtension('holiday.gif', PNG).ok).toBe(false);
  });

  it('accepts matching types, spellings (jpeg/jpg, tif/tiff) and upper case', async () => {
    expect(checkExtension('photo.jpeg', await sniffFile(join(dir, 'photo.jpeg')))).toEqual({ ok: true });
    expect(checkExtension('PHOTO.JPG', JPEG)).toEqual({ ok: true });
    expect(checkExtension('photo.jfif', JPEG)).toEqual({ ok: true });
    expect(checkExtension('scan.tiff', await sniffFile(tiff))).toEqual({ ok: true });
    expect(checkExtension('scan.tif', await sniffFile(tiff))).toEqual({ ok: true });
    expect(checkExtension('picture.png', PNG)).toEqual({ ok: true });
    expect(checkExtension('/uploads/2024/picture.png', PNG)).toEqual({ ok: true });
  });

  it('accepts text that sniffs as nothing, and names that claim no type', async () => {
    expect(checkExtension('notes.txt', await sniffFile(join(dir, 'notes.txt')))).toEqual({ ok: true });
    expect(checkExtension('data.csv', undefined)).toEqual({ ok: true });
    expect(checkExtension('deploy.sh', undefined)).toEqual({ ok: true });
    expect(checkExtension('README', undefined)).toEqual({ ok: true });
    expect(checkExtension('README', PNG)).toEqual({ ok: true });
    expect(checkExtension('upload.bin', PNG)).toEqual({ ok: true });
    expect(checkExtension('drawing.svg', { mime: 'application/xml', ext: 'xml' })).toEqual({ ok: true });
  });

  it('rejects a reliably recognisable extension whose content is not that format, and binary content under a text name', () => {
    expect(checkExtension('report.pdf', undefined).ok).toBe(false);
    expect(checkExtension('archive.zip', undefined).ok).toBe(false);
    expect(checkExtension('setup.exe', undefined).ok).toBe(false);
    expect(checkExtension('readme.txt', { mime: 'application/x-msdownload', ext: 'exe' }).ok).toBe(false);
    expect(checkExtension('picture.txt', PNG).ok).toBe(false);
  });

  it('accepts containers under the names of their specialisations and the reverse', () => {
    expect(checkExtension('letter.docx', { mime: 'application/zip', ext: 'zip' })).toEqual({ ok: true });
    expect(checkExtension('bundle.zip', { mime: 'application/java-archive', ext: 'jar' })).toEqual({ ok: true });
    expect(checkExtension('backup.tgz', { mime: 'application/gzip', ext: 'gz' })).toEqual({ ok: true });
    expect(checkExtension('song.ogg', { mime: 'audio/ogg; codecs=opus', ext: 'opus' })).toEqual({ ok: true });
    expect(checkExtension('legacy.doc', { mime: 'application/x-cfb', ext: 'cfb' })).toEqual({ ok: true });
    expect(checkExtension('letter.docx', { mime: 'application/x-cfb', ext: 'cfb' }).ok).toBe(false);
  });

  it('extensionOf takes the last extension of the last segment, lower-case', () => {
    expect(extensionOf('a/b.c/Photo.JPG')).toBe('jpg');
    expect(extensionOf('archive.tar.gz')).toBe('gz');
    expect(extensionOf('.bashrc')).toBe('');
    expect(extensionOf('dir.d/file')).toBe('');
  });
});

describe('upload rules', () => {
  it('refuses by size first, then extension, then type, and accepts what passes all', () => {
    const rules = { maxSize: 1000, allowedExtensions: ['.JPG', 'png'] };
    expect(checkUploadRules({ name: 'big.jpg', size: 1001, sniffed: JPEG }, rules)).toMatchObject({ ok: false, rule: 'max-size' });
    expect(checkUploadRules({ name: 'exact.jpg', size: 1000, sniffed: JPEG }, rules)).toEqual({ ok: true });
    expect(checkUploadRules({ name: 'doc.pdf', size: 10, sniffed: { mime: 'application/pdf', ext: 'pdf' } }, rules)).toMatchObject({ ok: false, rule: 'extension' });
    expect(checkUploadRules({ name: 'evil.jpg', size: 10, sniffed: undefined }, rules)).toMatchObject({ ok: false, rule: 'type-mismatch' });
    expect(checkUploadRules({ name: 'fake.png', size: 10, sniffed: JPEG }, rules)).toMatchObject({ ok: false, rule: 'type-mismatch' });
    expect(checkUploadRules({ name: 'photo.jpeg', size: 10, sniffed: JPEG }, rules)).toEqual({ ok: true });
  });

  it('applies only the rules given; an empty extension list admits nothing', () => {
    expect(checkUploadRules({ name: 'huge.txt', size: 1e12, sniffed: undefined }, {})).toEqual({ ok: true });
    expect(checkUploadRules({ name: 'evil.jpg', size: 1, sniffed: undefined }, {})).toMatchObject({ ok: false, rule: 'type-mismatch' });
    expect(checkUploadRules({ name: 'a.txt', size: 1, sniffed: undefined }, { allowedExtensions: [] })).toMatchObject({ ok: false, rule: 'extension' });
    expect(checkUploadRules({ name: 'Makefile', size: 1, sniffed: undefined }, { allowedExtensions: ['txt', ''] })).toEqual({ ok: true });
    expect(checkUploadRules({ name: 'Makefile', size: 1, sniffed: undefined }, { allowedExtensions: ['txt'] })).toMatchObject({ ok: false, rule: 'extension' });
  });

  it('gives reasons that name the file and the value at fault', () => {
    const result = checkUploadRules({ name: 'big.jpg', size: 5000, sniffed: JPEG }, { maxSize: 1000 });
    expect(result.ok === false && result.reason).toMatch(/big\.jpg.*5000.*1000/);
  });

  it('throws EINVAL for a negative maxSize', () => {
    expectSyncCode(() => checkUploadRules({ name: 'a.txt', size: 1, sniffed: undefined }, { maxSize: -1 }), 'EINVAL');
  });
});
