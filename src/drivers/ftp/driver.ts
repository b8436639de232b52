import type { Readable } from 'node:stream';
import type { Client } from 'basic-ftp';
import type { FtpDiskConfig } from '../../core/config/schema.js';
import { FsError } from '../../core/errors.js';
import { normalizeDirectory, normalizeKey } from '../../core/paths.js';
import type { DriverContext } from '../context.js';
import { SignedUrls } from '../shared/signed-urls.js';
import { emptyReadable, guessMimeType, sha256OfStream, toReadable } from '../shared/body.js';
import { BASE_CAPABILITIES } from '../shared/capabilities.js';
import type {
  ByteRange,
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
import { connectClient } from './connect.js';
import { isFtpReply, mapFtpError } from './errors.js';
import { DEFAULT_PAGE_SIZE, walkPage, type FolderEntry } from './listing.js';
import { FtpPool, runWithLease } from './pool.js';
import { ensureDirectory, probe, readFolder, removeTree, RemoteRoot } from './remote.js';
import { isDirectory, renameOnto, tempPathFor, uploadAtomically } from './store.js';
import { countingBody, openDownload } from './transfer.js';

/**
 * The ftp driver (basic-ftp): keys live under `config.root` on the server as
 * real files and directories. Writes upload to a hidden temp name in the
 * target folder, then RNFR/RNTO onto the final name (rename(2) on vsftpd:
 * atomic replace), so a half-written file never shows under its name.
 * stat uses SIZE and MDTM (second resolution); listings use LIST (minute
 * resolution, hence mtimeResolutionMs 60000, and no etag: LIST cannot give
 * one that matches stat's). stat's etag is size + MDTM time, so an overwrite
 * with the same size within the same second keeps it. No visibility,
 * metadata or server-side copy (copy streams through two connections).
 *
 * Each operation borrows a connection from a pool of `pool_size`; a read
 * stream holds its connection until it is consumed or destroyed, so a
 * caller that opens more unconsumed streams than `pool_size` makes further
 * calls wait.
 */
export class FtpDriver implements StorageDriver {
  readonly name = 'ftp';
  readonly capabilities: DriverCapabilities;
  /** The connection pool (exposed for tests and diagnostics). */
  readonly pool: FtpPool;
  private readonly remote: RemoteRoot;
  /** url()/temporaryUrl()/temporaryUploadUrl(): served and verified by storaged's HTTP server, as for local disks. */
  private readonly urls: SignedUrls;

  constructor(config: FtpDiskConfig, context: DriverContext) {
    if (!config.host) throw new FsError('EINVAL', `ftp disk '${context.diskName}': host is required`, { op: 'config' });
    this.remote = new RemoteRoot(config.root, context.diskName);
    this.urls = new SignedUrls(config.url, context.signingKey, context.diskName);
    this.pool = new FtpPool(() => connectClient(config), config.pool_size, context.diskName);
    this.capabilities = {
      ...BASE_CAPABILITIES,
      emptyDirectories: true,
      publicUrl: this.urls.canPublic,
      temporaryUrl: this.urls.canSign,
      temporaryUrlExpiryEnforced: this.urls.canSign,
      temporaryUrlSignatureEnforced: this.urls.canSign,
      temporaryUploadUrl: this.urls.canSign,
      mtimeResolutionMs: 60_000,
    };
  }

  /** The disk's root folder on the server, absolute, without a trailing slash. */
  get rootPath(): string {
    return this.remote.root;
  }

  async stat(path: string): Promise<FileStat> {
    return this.guard('stat', path, async () => {
      const key = this.key(path);
      return this.pool.use((client) => this.statWith(client, key));
    });
  }

  async list(dir: string, options: ListOptions): Promise<ListPage> {
    return this.guard('list', dir, async () => {
      const base = normalizeDirectory(dir, this.capabilities.limits);
      return this.pool.use(async (client) => {
        const read = async (folder: string): Promise<FolderEntry[]> => {
          const entries = await readFolder(client, this.remote.path(joinKey(base, folder)));
          if (entries !== null || folder !== '') return entries ?? [];
          if ((await probe(client, this.remote.path(base))) === 'file') {
            throw new FsError('ENOTDIR', `list '${dir}': not a directory`, { path: dir, op: 'list' });
          }
          return [];
        };
        const page = await walkPage(read, options.recursive, options.pageSize ?? DEFAULT_PAGE_SIZE, options.cursor);
        const entries = page.entries.map(({ path, entry }) => this.entryStat(joinKey(base, path), entry));
        return page.cursor === undefined ? { entries } : { entries, cursor: page.cursor };
      });
    });
  }

  async read(path: string, options: ReadOptions = {}): Promise<Readable> {
    return this.guard('read', path, async () => {
      const key = this.key(path);
      const range = checkRange(options.range, path);
      if (options.signal?.aborted) throw new FsError('ECANCELED', `read '${path}': aborted`, { path, op: 'read' });
      if (range.length === 0) {
        if ((await this.stat(key)).type === 'directory') throw isDirectory(path, 'read');
        return emptyReadable();
      }
      return this.openRead(await this.pool.acquire(), key, range, options.signal);
    });
  }

  async write(path: string, body: Readable | Uint8Array, options: WriteOptions = {}): Promise<WriteResult> {
    return this.guard('write', path, async () => {
      const key = this.key(path);
      if (options.signal?.aborted) throw new FsError('ECANCELED', `write '${path}': aborted`, { path, op: 'write' });
      const counter = countingBody(toReadable(body), options.signal);
      const tempAbs = tempPathFor(this.remote, key);
      try {
        await runWithLease(await this.pool.acquire(), (client) => uploadAtomically(client, this.remote, key, counter, tempAbs));
      } catch (err) {
        // A temp file can exist only once the server accepted the upload (the body started flowing).
        if (counter.consumed) await this.removeQuietly(tempAbs);
        counter.destroy();
        throw err;
      }
      return { size: counter.bytes };
    });
  }

  async delete(path: string): Promise<void> {
    return this.guard('delete', path, async () => {
      const key = this.key(path);
      const abs = this.remote.path(key);
      await this.pool.use(async (client) => {
        try {
          await client.remove(abs);
        } catch (err) {
          if (!isFtpReply(err, 550)) throw err;
          const kind = await probe(client, abs);
          if (kind === 'directory') throw isDirectory(path, 'delete');
          if (kind === 'file') throw new FsError('EACCES', `delete '${path}': the FTP server refused`, { path, op: 'delete', cause: err });
        }
      });
    });
  }

  async createDirectory(path: string, _options: WriteOptions = {}): Promise<void> {
    return this.guard('createDirectory', path, async () => {
      const key = this.key(path);
      await this.pool.use((client) => ensureDirectory(client, this.remote, key, 'EEXIST'));
    });
  }

  async deleteDirectory(path: string): Promise<void> {
    return this.guard('deleteDirectory', path, async () => {
      const key = normalizeDirectory(path, this.capabilities.limits);
      const abs = this.remote.path(key);
      await this.pool.use(async (client) => {
        const kind = await probe(client, abs);
        if (kind === 'file') throw new FsError('ENOTDIR', `deleteDirectory '${path}': not a directory`, { path, op: 'deleteDirectory' });
        if (kind === 'directory') await removeTree(client, abs, key !== '');
      });
    });
  }

  /** Streams the file through two connections; no user metadata (`options.metadata` is ignored). */
  async copy(from: string, to: string, options: CopyOptions = {}): Promise<void> {
    return this.guard('copy', from, async () => {
      const source = this.key(from);
      const target = this.key(to);
      if (options.signal?.aborted) throw new FsError('ECANCELED', `copy '${from}': aborted`, { path: from, op: 'copy' });
      if (source === target) return void (await this.requireFile(source, from, 'copy'));
      const [readLease, writeLease] = await this.pool.acquirePair();
      let stream: Readable;
      try {
        stream = await this.openRead(readLease, source, { offset: 0 }, options.signal);
      } catch (err) {
        writeLease.release();
        throw err;
      }
      const tempAbs = tempPathFor(this.remote, target);
      const counter = countingBody(stream, options.signal);
      try {
        await runWithLease(writeLease, (client) => uploadAtomically(client, this.remote, target, counter, tempAbs));
      } catch (err) {
        stream.destroy(); // frees the read connection before the cleanup needs one
        if (counter.consumed) await this.removeQuietly(tempAbs);
        throw err;
      }
    });
  }

  async move(from: string, to: string): Promise<void> {
    return this.guard('move', from, async () => {
      const source = this.key(from);
      const target = this.key(to);
      await this.pool.use(async (client) => {
        const sourceAbs = this.remote.path(source);
        const kind = await probe(client, sourceAbs);
        if (kind === null) throw new FsError('ENOENT', `move '${from}': no such file`, { path: from, op: 'move' });
        if (kind === 'directory') throw isDirectory(from, 'move');
        if (source === target) return;
        await renameOnto(client, this.remote, sourceAbs, target, to);
      });
    });
  }

  async setVisibility(path: string, _visibility: Visibility): Promise<void> {
    return this.guard('setVisibility', path, async () => {
      this.key(path);
      throw new FsError('ENOTSUP', `setVisibility '${path}': ftp disks have no per-file visibility`, { path, op: 'setVisibility' });
    });
  }

  async getVisibility(path: string): Promise<Visibility> {
    return this.guard('getVisibility', path, async () => {
      this.key(path);
      throw new FsError('ENOTSUP', `getVisibility '${path}': ftp disks have no per-file visibility`, { path, op: 'getVisibility' });
    });
  }

  async checksum(path: string): Promise<Checksum> {
    return this.guard('checksum', path, async () => sha256OfStream(await this.read(path)));
  }

  url(path: string): string {
    return this.urls.publicUrl(this.key(path));
  }

  async temporaryUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.guard('temporaryUrl', path, async () => this.urls.signed(this.key(path), 'GET', options));
  }

  async temporaryUploadUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.guard('temporaryUploadUrl', path, async () => this.urls.signed(this.key(path), 'PUT', options));
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private key(path: string): string {
    return normalizeKey(path, this.capabilities.limits);
  }

  /** Runs `action`, turning whatever it rejects with into an FsError naming `path`. */
  private async guard<T>(op: string, path: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      throw mapFtpError(err, path, op);
    }
  }

  private async statWith(client: Client, key: string): Promise<FileStat> {
    const abs = this.remote.path(key);
    let size: number;
    try {
      size = await client.size(abs);
    } catch (err) {
      if (!isFtpReply(err, 550)) throw err;
      if ((await probe(client, abs)) === 'directory') return { path: key, type: 'directory', size: 0, lastModified: new Date(0) };
      throw new FsError('ENOENT', `stat '${key}': no such file or directory`, { path: key, op: 'stat' });
    }
    let lastModified = new Date(0);
    try {
      lastModified = await client.lastMod(abs);
    } catch (err) {
      if (isFtpReply(err, 550)) throw new FsError('ENOENT', `stat '${key}': no such file or directory`, { path: key, op: 'stat' });
      if (!isFtpReply(err)) throw err; // a server without MDTM (502): the time stays unknown
    }
    return { path: key, type: 'file', size, lastModified, etag: `${size}-${lastModified.getTime()}`, mimeType: guessMimeType(key) };
  }

  private entryStat(path: string, entry: FolderEntry): FileStat {
    if (entry.type === 'directory') return { path, type: 'directory', size: 0, lastModified: entry.lastModified };
    return { path, type: 'file', size: entry.size, lastModified: entry.lastModified, mimeType: guessMimeType(path) };
  }

  /** Opens a read on the lease (which openDownload owns from here); 550 becomes ENOENT or EISDIR. */
  private async openRead(lease: Parameters<typeof openDownload>[0], key: string, range: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const abs = this.remote.path(key);
    try {
      return await openDownload(lease, {
        remotePath: abs,
        offset: range.offset,
        length: range.length,
        signal,
        mapError: (err) => mapFtpError(err, key, 'read'),
      });
    } catch (err) {
      if (!isFtpReply(err, 550)) throw err;
      const kind = await this.pool.use((client) => probe(client, abs));
      if (kind === 'directory') throw isDirectory(key, 'read');
      if (kind === null) throw new FsError('ENOENT', `read '${key}': no such file`, { path: key, op: 'read', cause: err });
      throw err;
    }
  }

  /** Deletes an unfinished temp file on a pooled connection; errors are ignored. */
  private async removeQuietly(abs: string): Promise<void> {
    try {
      await this.pool.use((client) => client.remove(abs, true));
    } catch {
      // Best effort: a leftover temp file is hidden from listings and removed with its folder.
    }
  }

  private async requireFile(key: string, shownPath: string, op: string): Promise<void> {
    const stat = await this.pool.use((client) => this.statWith(client, key));
    if (stat.type === 'directory') throw isDirectory(shownPath, op);
  }
}

/** Checks a read range: integer offset ≥ 0, integer length ≥ 0. */
function checkRange(range: ByteRange | undefined, path: string): ByteRange {
  if (!range) return { offset: 0 };
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
    throw new FsError('EINVAL', `read '${path}': invalid range offset=${offset} length=${length}`, { path, op: 'read' });
  }
  return { offset, length };
}

function joinKey(base: string, rest: string): string {
  return base === '' ? rest : rest === '' ? base : `${base}/${rest}`;
}
