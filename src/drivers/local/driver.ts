import { constants as fsConstants } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { FsError, fromSystemError } from '../../core/errors.js';
import type { LocalDiskConfig } from '../../core/config/schema.js';
import { baseName, normalizeDirectory, normalizeKey, parentKey, type KeyLimits } from '../../core/paths.js';
import type { DriverContext } from '../context.js';
import { clampRange, emptyReadable, sha256OfStream, toReadable } from '../shared/body.js';
import { BASE_CAPABILITIES } from '../shared/capabilities.js';
import type {
  Checksum,
  CopyOptions,
  DriverCapabilities,
  FileStat,
  ListOptions,
  ListPage,
  ReadOptions,
  StorageDriver,
  TemporaryUrlOptions,
  Visibility,
  WriteOptions,
  WriteResult,
} from '../types.js';
import { copyAtomic, writeAtomic } from './atomic-write.js';
import { toFileStat } from './file-stat.js';
import { assertNotDirectory, assertNotReserved, existingOrNull, notStorageEntry } from './guards.js';
import { listDirectory } from './listing.js';
import { codeOf, SafeRoot } from './safe-path.js';
import { SignedUrls } from '../shared/signed-urls.js';
import { modeFor, visibilityOfMode } from './visibility.js';

/** POSIX limits: NAME_MAX per segment, PATH_MAX for the whole key. */
export const LOCAL_KEY_LIMITS: KeyLimits = { maxNameBytes: 255, maxKeyBytes: 4096 };

/**
 * The `local` driver: a disk that is a folder. Keys map to files below
 * `config.root`; no symlink is ever followed out of it (see SafeRoot).
 * Writes stream into a hidden temporary file that is fsynced and renamed over
 * the target, so a file is never seen half-written. Visibility is the
 * permission bits (public 0644/0755, private 0600/0700). No sidecar files:
 * user metadata is not supported. URLs are `${config.url}/key`, signed with
 * the context's signing key for temporary ones.
 */
export class LocalDriver implements StorageDriver {
  readonly name = 'local';
  readonly capabilities: DriverCapabilities;
  private readonly root: SafeRoot;
  private readonly urls: SignedUrls;
  private readonly defaultVisibility: Visibility;

  constructor(config: LocalDiskConfig, context: DriverContext) {
    if (!isAbsolute(config.root)) {
      throw new FsError('EINVAL', `disk '${context.diskName}': root '${config.root}' must be an absolute path`, { op: 'config' });
    }
    this.root = new SafeRoot(config.root);
    this.urls = new SignedUrls(config.url, context.signingKey, context.diskName);
    this.defaultVisibility = config.visibility ?? 'public';
    this.capabilities = {
      ...BASE_CAPABILITIES,
      emptyDirectories: true,
      visibility: true,
      metadata: false,
      publicUrl: this.urls.canPublic,
      temporaryUrl: this.urls.canSign,
      temporaryUrlExpiryEnforced: this.urls.canSign,
      temporaryUrlSignatureEnforced: this.urls.canSign,
      temporaryUploadUrl: this.urls.canSign,
      nativeChecksum: null,
      serverSideCopy: true,
      inProcess: false,
      limits: LOCAL_KEY_LIMITS,
      mtimeResolutionMs: 1,
    };
  }

  async stat(path: string): Promise<FileStat> {
    return this.run('stat', path, async () => {
      const key = this.key(path);
      const stats = await stat(await this.root.resolve(key, 'follow'), { bigint: true });
      if (!stats.isFile() && !stats.isDirectory()) throw notStorageEntry(key, 'stat');
      return toFileStat(key, stats);
    });
  }

  async list(dir: string, options: ListOptions): Promise<ListPage> {
    return this.run('list', dir, async () => {
      const dirKey = normalizeDirectory(dir, LOCAL_KEY_LIMITS);
      let dirAbs: string;
      try {
        dirAbs = await this.root.resolve(dirKey, 'follow');
        if (!(await stat(dirAbs)).isDirectory()) {
          throw new FsError('ENOTDIR', `list '${dirKey}': not a directory`, { path: dirKey, op: 'list' });
        }
      } catch (err) {
        if (codeOf(err) === 'ENOENT') return { entries: [] };
        throw err;
      }
      return listDirectory(this.root, { dirAbs, dirKey, ...options });
    });
  }

  async read(path: string, options: ReadOptions = {}): Promise<Readable> {
    return this.run('read', path, async () => {
      const key = this.key(path);
      const abs = await this.root.resolve(key, 'follow');
      if (options.signal?.aborted) throw new FsError('ECANCELED', `read '${key}': aborted`, { path: key, op: 'read' });
      const handle = await open(abs, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
      try {
        await this.root.assertHandleInside(handle, key);
        const stats = await handle.stat();
        if (stats.isDirectory()) throw new FsError('EISDIR', `read '${key}': is a directory`, { path: key, op: 'read' });
        if (!stats.isFile()) throw notStorageEntry(key, 'read');
        const { offset, length } = clampRange(options.range, stats.size);
        if (length === 0) {
          await handle.close();
          return emptyReadable();
        }
        const stream = handle.createReadStream({ start: offset, end: offset + length - 1 });
        return options.signal ? addAbortSignal(options.signal, stream) : stream;
      } catch (err) {
        await handle.close().catch(() => undefined);
        throw err;
      }
    });
  }

  async write(path: string, body: Readable | Uint8Array, options: WriteOptions = {}): Promise<WriteResult> {
    return this.run('write', path, async () => {
      const key = this.writableKey(path);
      const parent = await this.prepareParent(key);
      const name = baseName(key);
      await assertNotDirectory(join(parent, name), key, 'write');
      const mode = modeFor(options.visibility ?? this.defaultVisibility, 'file');
      const written = await writeAtomic(parent, name, toReadable(body), mode, options.signal);
      return { size: written.size, etag: toFileStat(key, written.stats).etag };
    });
  }

  async delete(path: string): Promise<void> {
    return this.run('delete', path, async () => {
      const key = this.key(path);
      const abs = await existingOrNull(() => this.root.resolve(key, 'nofollow'));
      const stats = abs === null ? null : await existingOrNull(() => lstat(abs));
      if (abs === null || stats === null) return;
      if (stats.isDirectory()) throw new FsError('EISDIR', `delete '${key}': is a directory`, { path: key, op: 'delete' });
      await unlink(abs).catch((err: unknown) => {
        if (codeOf(err) !== 'ENOENT') throw err;
      });
    });
  }

  async createDirectory(path: string, options: WriteOptions = {}): Promise<void> {
    return this.run('createDirectory', path, async () => {
      const key = normalizeDirectory(path, LOCAL_KEY_LIMITS);
      assertNotReserved(key);
      const mode = modeFor(options.visibility ?? this.defaultVisibility, 'directory');
      await this.root.ensureRoot(this.defaultDirMode());
      if (key === '') return;
      const abs = await this.root.resolve(key, 'follow');
      const created = await mkdir(abs, { recursive: true, mode });
      const real = await this.root.assertInside(abs, key);
      if (!(await stat(real)).isDirectory()) {
        throw new FsError('EEXIST', `createDirectory '${key}': a file exists there`, { path: key, op: 'createDirectory' });
      }
      // mkdir's mode passes through the umask; chmod sets the exact bits.
      if (created !== undefined || options.visibility !== undefined) await chmod(real, mode);
    });
  }

  async deleteDirectory(path: string): Promise<void> {
    return this.run('deleteDirectory', path, async () => {
      const key = this.key(path);
      const abs = await existingOrNull(() => this.root.resolve(key, 'nofollow'));
      const stats = abs === null ? null : await existingOrNull(() => lstat(abs));
      if (abs === null || stats === null) return;
      if (stats.isSymbolicLink()) return unlink(abs); // the link itself, never what it points to
      if (!stats.isDirectory()) {
        throw new FsError('ENOTDIR', `deleteDirectory '${key}': not a directory`, { path: key, op: 'deleteDirectory' });
      }
      // rm never follows symlinks below the directory: it removes the links themselves.
      await rm(abs, { recursive: true, force: true });
    });
  }

  /** Copies through a temporary file and a rename; no user metadata (`options.metadata` is ignored). */
  async copy(from: string, to: string, options: CopyOptions = {}): Promise<void> {
    return this.run('copy', from, async () => {
      const source = this.key(from);
      const target = this.writableKey(to);
      if (options.signal?.aborted) throw new FsError('ECANCELED', `copy '${source}': aborted`, { path: source, op: 'copy' });
      const sourceAbs = await this.root.resolve(source, 'follow');
      const sourceStats = await stat(sourceAbs);
      if (sourceStats.isDirectory()) throw new FsError('EISDIR', `copy '${source}': is a directory`, { path: source, op: 'copy' });
      if (!sourceStats.isFile()) throw notStorageEntry(source, 'copy');
      const parent = await this.prepareParent(target);
      const name = baseName(target);
      if (join(parent, name) === sourceAbs) return; // onto itself: nothing to do
      await assertNotDirectory(join(parent, name), target, 'copy');
      await copyAtomic(sourceAbs, parent, name, sourceStats.mode & 0o777);
    });
  }

  async move(from: string, to: string): Promise<void> {
    return this.run('move', from, async () => {
      const source = this.key(from);
      const target = this.writableKey(to);
      const sourceAbs = await this.root.resolve(source, 'nofollow');
      const sourceStats = await lstat(sourceAbs);
      if (sourceStats.isDirectory()) throw new FsError('EISDIR', `move '${source}': is a directory`, { path: source, op: 'move' });
      const parent = await this.prepareParent(target);
      const targetAbs = join(parent, baseName(target));
      if (targetAbs === sourceAbs) return;
      await assertNotDirectory(targetAbs, target, 'move');
      try {
        await rename(sourceAbs, targetAbs);
      } catch (err) {
        if (codeOf(err) !== 'EXDEV') throw err;
        // Another filesystem is mounted inside the root: copy, then remove the source.
        await copyAtomic(sourceAbs, parent, baseName(target), sourceStats.mode & 0o777);
        await unlink(sourceAbs);
      }
    });
  }

  async setVisibility(path: string, visibility: Visibility): Promise<void> {
    return this.run('setVisibility', path, async () => {
      const abs = await this.root.resolve(this.key(path), 'follow');
      const stats = await stat(abs);
      await chmod(abs, modeFor(visibility, stats.isDirectory() ? 'directory' : 'file'));
    });
  }

  async getVisibility(path: string): Promise<Visibility> {
    return this.run('getVisibility', path, async () => {
      const abs = await this.root.resolve(this.key(path), 'follow');
      return visibilityOfMode((await stat(abs)).mode);
    });
  }

  async checksum(path: string): Promise<Checksum> {
    return this.run('checksum', path, async () => sha256OfStream(await this.read(path)));
  }

  url(path: string): string {
    return this.urls.publicUrl(this.key(path));
  }

  async temporaryUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.run('temporaryUrl', path, async () => this.urls.signed(this.key(path), 'GET', options));
  }

  async temporaryUploadUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.run('temporaryUploadUrl', path, async () => this.urls.signed(this.key(path), 'PUT', options));
  }

  async close(): Promise<void> {
    // Nothing to release: every operation opens and closes its own handles.
  }

  /** Runs one operation, turning every failure into an FsError naming the path and operation. */
  private async run<T>(op: string, path: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      throw fromSystemError(err, { path, op });
    }
  }

  private key(path: string): string {
    return normalizeKey(path, LOCAL_KEY_LIMITS);
  }

  private writableKey(path: string): string {
    const key = this.key(path);
    assertNotReserved(key);
    return key;
  }

  private defaultDirMode(): number {
    return modeFor(this.defaultVisibility, 'directory');
  }

  /**
   * Creates the root and the parent folders of `key` as needed and returns
   * the parent's real path, checked to be inside the root after creation.
   * A file in the way is ENOTDIR.
   */
  private async prepareParent(key: string): Promise<string> {
    const realRoot = await this.root.ensureRoot(this.defaultDirMode());
    const parent = parentKey(key);
    if (parent === '') return realRoot;
    const abs = await this.root.resolve(parent, 'follow');
    try {
      await mkdir(abs, { recursive: true, mode: this.defaultDirMode() });
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw err;
      throw new FsError('ENOTDIR', `'${key}': '${parent}' is a file, not a directory`, { path: key, cause: err });
    }
    return this.root.assertInside(abs, key);
  }
}
