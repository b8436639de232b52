import { PassThrough, Readable, Transform, pipeline } from 'node:stream';
import { FsError } from '../../core/errors.js';
import { encodeKeyForUrl } from '../../core/signing.js';
import { joinKey, normalizeDirectory, normalizeKey, type KeyLimits } from '../../core/paths.js';
import { BASE_CAPABILITIES } from '../shared/capabilities.js';
import { checkUrlLifetime } from '../shared/signed-urls.js';
import { emptyReadable, guessMimeType, sha256OfStream, toReadable } from '../shared/body.js';
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
import type { ObjectStoreAdapter } from './adapter.js';
import { decodeRecursiveCursor, directoryEntry, encodeRecursiveCursor, fileEntry, isAddressable, recursivePage } from './listing.js';

/** Options shared by the object-store drivers. */
export interface ObjectStoreOptions {
  /** Key prefix inside the bucket acting as the disk root ('' or e.g. 'tenant/a'). */
  prefix?: string;
  /** Base URL for public URLs (config `url`); when absent, adapter.publicUrl is used. */
  url?: string;
  /** Visibility for writes that name none (config `visibility`). */
  defaultVisibility?: Visibility;
}

const DEFAULT_PAGE_SIZE = 1000;
const DIRECTORY_MIME = 'application/x-directory';

/**
 * StorageDriver for flat object stores (s3, gcs, azure): emulates folders with
 * key prefixes and zero-byte `name/` marker objects, maps the disk root to an
 * optional key prefix, and funnels every vendor error through the adapter's
 * mapError. The vendor half lives in an ObjectStoreAdapter.
 */
export class ObjectStoreDriver implements StorageDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  private readonly prefix: string;
  private readonly limits: KeyLimits;

  constructor(
    private readonly adapter: ObjectStoreAdapter,
    private readonly options: ObjectStoreOptions = {},
  ) {
    this.name = adapter.name;
    this.prefix = normalizeDirectory(options.prefix ?? '');
    const base = { ...BASE_CAPABILITIES, serverSideCopy: true, ...adapter.capabilities };
    const prefixBytes = this.prefix === '' ? 0 : Buffer.byteLength(this.prefix) + 1;
    this.limits = { ...base.limits, maxKeyBytes: base.limits.maxKeyBytes - prefixBytes - 1 }; // -1: room for a marker's '/'
    this.capabilities = { ...base, limits: this.limits, publicUrl: base.publicUrl || options.url !== undefined };
  }

  async stat(path: string): Promise<FileStat> {
    const key = normalizeKey(path, this.limits);
    const info = await this.call('stat', key, () => this.adapter.head(this.full(key)));
    if (info) return fileEntry(key, info);
    const folder = await this.findDirectory(key);
    if (folder) return folder;
    throw new FsError('ENOENT', `stat '${key}': no such file or directory`, { path: key, op: 'stat' });
  }

  async list(dir: string, options: ListOptions): Promise<ListPage> {
    const key = normalizeDirectory(dir, this.limits);
    const storePrefix = this.full(key) === '' ? '' : this.full(key) + '/';
    const pageSize = Math.max(1, Math.min(options.pageSize ?? DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE));
    let page: ListPage;
    if (options.recursive) {
      const state = decodeRecursiveCursor(options.cursor);
      const listing = await this.call('list', key, () =>
        this.adapter.list(storePrefix, { maxKeys: pageSize, ...(state.c !== undefined ? { continuation: state.c } : {}) }),
      );
      const { entries, last } = recursivePage(listing, key, state.l, (k) => this.relative(k));
      page = { entries };
      if (listing.next !== undefined) page.cursor = encodeRecursiveCursor({ c: listing.next, ...(last !== undefined ? { l: last } : {}) });
    } else {
      const listing = await this.call('list', key, () =>
        this.adapter.list(storePrefix, {
          delimiter: '/',
          maxKeys: pageSize,
          ...(options.cursor !== undefined ? { continuation: options.cursor } : {}),
        }),
      );
      const entries: FileStat[] = [];
      for (const folder of listing.commonPrefixes) {
        const raw = this.relative(folder);
        if (isAddressable(raw)) entries.push(directoryEntry(raw.slice(0, -1)));
      }
      for (const object of listing.objects) {
        const raw = this.relative(object.key);
        if (!raw.endsWith('/') && isAddressable(raw)) entries.push(fileEntry(raw, object));
      }
      entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      page = { entries };
      if (listing.next !== undefined) page.cursor = listing.next;
    }
    if (options.cursor === undefined && page.entries.length === 0 && page.cursor === undefined && key !== '') {
      const file = await this.call('list', key, () => this.adapter.head(this.full(key)));
      if (file) throw new FsError('ENOTDIR', `list '${key}': is a file, not a directory`, { path: key, op: 'list' });
    }
    return page;
  }

  async read(path: string, options: ReadOptions = {}): Promise<Readable> {
    const key = normalizeKey(path, this.limits);
    if (options.range && (options.range.offset < 0 || (options.range.length ?? 0) < 0)) {
      throw new FsError('EINVAL', `read '${key}': negative range`, { path: key, op: 'read' });
    }
    if (options.range?.length === 0) {
      await this.stat(key).then((s) => this.requireFile(s, 'read'));
      return emptyReadable();
    }
    let source: Readable;
    try {
      source = await this.adapter.get(this.full(key), options.range, options.signal);
    } catch (err) {
      const mapped = this.map(err, key, 'read');
      if (mapped.code === 'ENOENT' && (await this.findDirectory(key))) {
        throw new FsError('EISDIR', `read '${key}': is a directory`, { path: key, op: 'read' });
      }
      throw mapped;
    }
    return this.guardStream(source, key);
  }

  async write(path: string, body: Readable | Uint8Array, options: WriteOptions = {}): Promise<WriteResult> {
    const key = normalizeKey(path, this.limits);
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        done(null, chunk);
      },
    });
    pipeline(toReadable(body), counter, () => undefined); // errors reach the adapter through `counter`
    const visibility = options.visibility ?? this.options.defaultVisibility;
    let result: { etag?: string };
    try {
      result = await this.call('write', key, () =>
        this.adapter.put(this.full(key), counter, {
          mimeType: options.mimeType ?? guessMimeType(key),
          ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
          ...(visibility !== undefined && this.capabilities.visibility ? { visibility } : {}),
          ...(options.size !== undefined ? { size: options.size } : {}),
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
        }),
      );
    } catch (err) {
      counter.destroy(); // releases the caller's body (pipeline destroys it too)
      throw err;
    }
    return { size, ...(result.etag !== undefined ? { etag: result.etag } : {}) };
  }

  async delete(path: string): Promise<void> {
    const key = normalizeKey(path, this.limits);
    await this.call('delete', key, () => this.adapter.deleteMany([this.full(key)]));
  }

  async createDirectory(path: string): Promise<void> {
    const key = normalizeDirectory(path, this.limits);
    if (key === '') return;
    const file = await this.call('mkdir', key, () => this.adapter.head(this.full(key)));
    if (file) throw new FsError('EEXIST', `mkdir '${key}': a file with this name exists`, { path: key, op: 'mkdir' });
    await this.call('mkdir', key, () => this.adapter.put(this.full(key) + '/', emptyReadable(), { mimeType: DIRECTORY_MIME, size: 0 }));
  }

  async deleteDirectory(path: string): Promise<void> {
    const key = normalizeDirectory(path, this.limits);
    const storePrefix = this.full(key) === '' ? '' : this.full(key) + '/';
    let continuation: string | undefined;
    do {
      const listing = await this.call('rmdir', key, () =>
        this.adapter.list(storePrefix, { maxKeys: DEFAULT_PAGE_SIZE, ...(continuation !== undefined ? { continuation } : {}) }),
      );
      const keys = listing.objects.map((o) => o.key);
      if (keys.length > 0) await this.call('rmdir', key, () => this.adapter.deleteMany(keys));
      continuation = listing.next;
    } while (continuation !== undefined);
  }

  async copy(from: string, to: string, options: CopyOptions = {}): Promise<void> {
    const source = normalizeKey(from, this.limits);
    const target = normalizeKey(to, this.limits);
    if (options.signal?.aborted) throw new FsError('ECANCELED', `copy '${source}': aborted by the caller`, { path: source, op: 'copy' });
    const metadata = this.capabilities.metadata ? options.metadata : undefined;
    if (source === target && metadata === undefined) {
      this.requireFile(await this.stat(source), 'copy');
      return;
    }
    await this.call('copy', source, () =>
      this.adapter.copy(this.full(source), this.full(target), {
        ...(metadata !== undefined ? { metadata } : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      }),
    );
  }

  async move(from: string, to: string): Promise<void> {
    const source = normalizeKey(from, this.limits);
    const target = normalizeKey(to, this.limits);
    if (source === target) {
      this.requireFile(await this.stat(source), 'move');
      return;
    }
    await this.call('move', source, () => this.adapter.copy(this.full(source), this.full(target)));
    await this.call('move', source, () => this.adapter.deleteMany([this.full(source)]));
  }

  async setVisibility(path: string, visibility: Visibility): Promise<void> {
    const key = normalizeKey(path, this.limits);
    const set = this.adapter.setVisibility;
    if (!this.capabilities.visibility || !set) throw this.unsupported('visibility', key);
    await this.call('set-visibility', key, () => set.call(this.adapter, this.full(key), visibility));
  }

  async getVisibility(path: string): Promise<Visibility> {
    const key = normalizeKey(path, this.limits);
    const get = this.adapter.getVisibility;
    if (!this.capabilities.visibility || !get) throw this.unsupported('visibility', key);
    return this.call('get-visibility', key, () => get.call(this.adapter, this.full(key)));
  }

  async checksum(path: string): Promise<Checksum> {
    const key = normalizeKey(path, this.limits);
    const info = await this.call('checksum', key, () => this.adapter.head(this.full(key)));
    if (!info) {
      this.requireFile(await this.stat(key), 'checksum');
      throw new FsError('ENOENT', `checksum '${key}': no such file`, { path: key, op: 'checksum' });
    }
    if (info.md5 !== undefined) return { algorithm: 'md5', hex: info.md5 };
    return sha256OfStream(await this.read(key));
  }

  url(path: string): string {
    const key = normalizeKey(path, this.limits);
    if (this.options.url !== undefined) return `${this.options.url.replace(/\/+$/, '')}/${encodeKeyForUrl(this.full(key))}`;
    if (this.adapter.publicUrl && this.capabilities.publicUrl) return this.adapter.publicUrl(this.full(key));
    throw this.unsupported('public URLs', key);
  }

  async temporaryUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.presign(path, 'GET', options, this.capabilities.temporaryUrl);
  }

  async temporaryUploadUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.presign(path, 'PUT', options, this.capabilities.temporaryUploadUrl);
  }

  async close(): Promise<void> {
    await this.adapter.close();
  }

  private async presign(path: string, method: 'GET' | 'PUT', options: TemporaryUrlOptions, capable: boolean): Promise<string> {
    const key = normalizeKey(path, this.limits);
    const presign = this.adapter.presign;
    if (!capable || !presign) throw this.unsupported(method === 'GET' ? 'temporary URLs' : 'temporary upload URLs', key);
    checkUrlLifetime('presign', key, options.expiresIn);
    return this.call('presign', key, () => presign.call(this.adapter, this.full(key), method, options.expiresIn, options.mimeType));
  }

  /** Folder entry when `key` exists as a marker or as a prefix of other keys. */
  private async findDirectory(key: string): Promise<FileStat | undefined> {
    const full = this.full(key) + '/';
    const [marker, children] = await Promise.all([
      this.call('stat', key, () => this.adapter.head(full)),
      this.call('stat', key, () => this.adapter.list(full, { maxKeys: 1 })),
    ]);
    if (marker) return directoryEntry(key, marker.lastModified);
    if (children.objects.length > 0 || children.commonPrefixes.length > 0) return directoryEntry(key);
    return undefined;
  }

  private requireFile(stat: FileStat, op: string): void {
    if (stat.type === 'directory') throw new FsError('EISDIR', `${op} '${stat.path}': is a directory`, { path: stat.path, op });
  }

  /** Re-emits stream errors as FsErrors and releases the source when the reader stops early. */
  private guardStream(source: Readable, key: string): Readable {
    const out = new PassThrough();
    source.once('error', (err) => out.destroy(this.map(err, key, 'read')));
    out.once('close', () => {
      if (!source.destroyed) source.destroy();
    });
    source.pipe(out);
    return out;
  }

  private full(key: string): string {
    return joinKey(this.prefix, key);
  }

  private relative(storeKey: string): string {
    return this.prefix === '' ? storeKey : storeKey.slice(this.prefix.length + 1);
  }

  private unsupported(what: string, key: string): FsError {
    return new FsError('ENOTSUP', `${this.name} disk does not support ${what} (path '${key}')`, { path: key });
  }

  private map(err: unknown, key: string, op: string): FsError {
    return err instanceof FsError ? err : this.adapter.mapError(err, key, op);
  }

  private async call<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.map(err, key, op);
    }
  }
}
