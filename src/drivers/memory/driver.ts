import { FsError } from '../../core/errors.js';
import { normalizeDirectory, normalizeKey } from '../../core/paths.js';
import type { SignedMethod } from '../../core/signing.js';
import { SignedUrls, checkUrlLifetime } from '../shared/signed-urls.js';
import { BASE_CAPABILITIES } from '../shared/capabilities.js';
import { clampRange, guessMimeType } from '../shared/body.js';
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
import type { Readable } from 'node:stream';
import { FailureInjector, type MemoryOperation } from './failures.js';
import { chunkStream, consumeBody } from './streams.js';
import { describeNode, listPage, parseListOptions } from './listing.js';
import { MemoryTree, type MemoryFile, type MemoryNode } from './tree.js';

/** Options of a MemoryDriver (the config file's memory disk maps onto these). */
export interface MemoryDriverOptions {
  /** Base URL for `url()` (no trailing slash needed); without it, no URLs. */
  url?: string;
  /** Visibility of files written without one (default 'private'). */
  visibility?: Visibility;
  /** Delay added to every operation, in milliseconds. */
  latencyMs?: number;
  /** HMAC secret for temporary URLs (needs `url` too). */
  signingKey?: string;
  /** The disk's name, for messages. */
  diskName?: string;
  /** Store to use; pass one tree to several drivers to share data. */
  tree?: MemoryTree;
  /** Failure injector to use; pass one to several drivers to fail them together. */
  failures?: FailureInjector;
}

/**
 * A StorageDriver that keeps everything in this process: real directories,
 * visibility, metadata, sha256 checksums, streamed reads and writes (a
 * write commits only once its whole body arrived), HMAC-signed temporary
 * URLs, configurable latency and failure injection (`failures`).
 */
export class MemoryDriver implements StorageDriver {
  readonly name = 'memory';
  readonly capabilities: DriverCapabilities;
  /** Injected failures; see FailureInjector.inject. */
  readonly failures: FailureInjector;
  private readonly tree: MemoryTree;
  private readonly urls: SignedUrls;
  private generation = 0;
  private closed = false;

  constructor(private readonly options: MemoryDriverOptions = {}) {
    if (options.latencyMs !== undefined && !(options.latencyMs >= 0)) {
      throw new FsError('EINVAL', `memory disk '${options.diskName ?? 'memory'}': latency ${options.latencyMs} ms is not >= 0`, { op: 'config' });
    }
    this.tree = options.tree ?? new MemoryTree();
    this.failures = options.failures ?? new FailureInjector();
    this.urls = new SignedUrls(options.url, options.signingKey, options.diskName ?? 'memory');
    const signed = this.urls.canSign;
    this.capabilities = {
      ...BASE_CAPABILITIES,
      emptyDirectories: true,
      visibility: true,
      metadata: true,
      publicUrl: this.urls.canPublic,
      temporaryUrl: signed,
      temporaryUrlExpiryEnforced: signed,
      temporaryUrlSignatureEnforced: signed,
      temporaryUploadUrl: signed,
      nativeChecksum: 'sha256',
      serverSideCopy: true,
      inProcess: true,
      mtimeResolutionMs: 1,
    };
  }

  async stat(path: string): Promise<FileStat> {
    const key = normalizeKey(path, this.capabilities.limits);
    await this.begin('stat', key);
    return describeNode(key, this.existing(key, 'stat'));
  }

  async list(dir: string, options: ListOptions): Promise<ListPage> {
    const key = normalizeDirectory(dir, this.capabilities.limits);
    const query = parseListOptions(dir, options);
    await this.begin('list', key);
    return listPage(this.tree, key, options.recursive, query);
  }

  async read(path: string, options: ReadOptions = {}): Promise<Readable> {
    const key = normalizeKey(path, this.capabilities.limits);
    await this.begin('read', key, options.signal);
    const file = this.existingFile(key, 'read');
    const range = clampRange(options.range, file.size);
    const failure = this.failures.streamFailure('read', key);
    return chunkStream(file.chunks, range, key, { signal: options.signal, failure });
  }

  async write(path: string, body: Readable | Uint8Array, options: WriteOptions = {}): Promise<WriteResult> {
    let key: string;
    try {
      key = normalizeKey(path, this.capabilities.limits);
      await this.begin('write', key, options.signal);
      this.tree.assertWritable(key);
    } catch (err) {
      // Refused before reading: release the caller's stream rather than leave it hanging.
      if (!(body instanceof Uint8Array)) body.destroy();
      throw err;
    }
    const failure = this.failures.streamFailure('write', key);
    const consumed = await consumeBody(body, key, { signal: options.signal, failure });
    // A remote store can fail at either end of an upload: injected failures are checked
    // again at commit, so an outage that begins mid-stream fails the write and stores nothing.
    this.failures.check('write', [key]);
    const file: MemoryFile = {
      kind: 'file',
      chunks: consumed.chunks,
      size: consumed.size,
      lastModified: new Date(),
      etag: this.nextEtag(consumed.sha256),
      sha256: consumed.sha256,
      mimeType: options.mimeType ?? guessMimeType(key),
      visibility: options.visibility ?? this.options.visibility ?? 'private',
      metadata: lowerCaseKeys(options.metadata ?? {}),
    };
    this.tree.putFile(key, file);
    return { size: file.size, etag: file.etag };
  }

  async delete(path: string): Promise<void> {
    const key = normalizeKey(path, this.capabilities.limits);
    await this.begin('delete', key);
    if (this.tree.get(key)?.kind === 'directory') {
      throw new FsError('EISDIR', `delete '${key}': is a directory (use deleteDirectory)`, { path: key, op: 'delete' });
    }
    this.tree.removeFile(key);
  }

  async createDirectory(path: string, options: WriteOptions = {}): Promise<void> {
    const key = normalizeDirectory(path, this.capabilities.limits);
    await this.begin('createDirectory', key, options.signal);
    this.tree.ensureDirectory(key, new Date());
  }

  async deleteDirectory(path: string): Promise<void> {
    const key = normalizeDirectory(path, this.capabilities.limits);
    await this.begin('deleteDirectory', key);
    if (this.tree.get(key)?.kind === 'file') {
      throw new FsError('ENOTDIR', `deleteDirectory '${key}': is a file`, { path: key, op: 'deleteDirectory' });
    }
    this.tree.removeDirectory(key);
  }

  async copy(from: string, to: string, options: CopyOptions = {}): Promise<void> {
    await this.transfer('copy', from, to, options);
  }

  async move(from: string, to: string): Promise<void> {
    await this.transfer('move', from, to);
  }

  async setVisibility(path: string, visibility: Visibility): Promise<void> {
    const key = normalizeKey(path, this.capabilities.limits);
    if (visibility !== 'public' && visibility !== 'private') {
      throw new FsError('EINVAL', `setVisibility '${key}': '${String(visibility)}' is not public or private`, { path: key, op: 'setVisibility' });
    }
    await this.begin('setVisibility', key);
    this.existingFile(key, 'setVisibility');
    this.tree.updateFile(key, (file) => ({ ...file, visibility }));
  }

  async getVisibility(path: string): Promise<Visibility> {
    const key = normalizeKey(path, this.capabilities.limits);
    await this.begin('getVisibility', key);
    return this.existingFile(key, 'getVisibility').visibility;
  }

  async checksum(path: string): Promise<Checksum> {
    const key = normalizeKey(path, this.capabilities.limits);
    await this.begin('checksum', key);
    return { algorithm: 'sha256', hex: this.existingFile(key, 'checksum').sha256 };
  }

  url(path: string): string {
    return this.urls.publicUrl(normalizeKey(path, this.capabilities.limits));
  }

  async temporaryUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.signed('temporaryUrl', 'GET', path, options);
  }

  async temporaryUploadUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.signed('temporaryUploadUrl', 'PUT', path, options);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private get diskLabel(): string {
    return this.options.diskName ?? 'memory';
  }

  private async signed(op: MemoryOperation, method: SignedMethod, path: string, options: TemporaryUrlOptions): Promise<string> {
    const key = normalizeKey(path, this.capabilities.limits);
    checkUrlLifetime(op, key, options?.expiresIn);
    await this.begin(op, key);
    return this.urls.signed(key, method, options);
  }

  /** Copy or move; a copy given metadata stores exactly it (also onto itself). */
  private async transfer(op: 'copy' | 'move', from: string, to: string, options: CopyOptions = {}): Promise<void> {
    const source = normalizeKey(from, this.capabilities.limits);
    const target = normalizeKey(to, this.capabilities.limits);
    await this.begin(op, source, options.signal, target);
    const file = this.existingFile(source, op);
    if (source === target && options.metadata === undefined) return;
    const metadata = options.metadata !== undefined ? lowerCaseKeys(options.metadata) : file.metadata;
    this.tree.putFile(target, { ...file, metadata, lastModified: new Date(), etag: this.nextEtag(file.sha256) });
    if (op === 'move') this.tree.removeFile(source);
  }

  /** Refuses calls after close, waits the configured latency, then applies injected failures. */
  private async begin(op: MemoryOperation, key: string, signal?: AbortSignal, otherKey?: string): Promise<void> {
    if (this.closed) throw new FsError('EIO', `${op} '${key}': memory disk '${this.diskLabel}' is closed`, { path: key, op });
    const latency = this.options.latencyMs ?? 0;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    if (signal?.aborted) throw new FsError('ECANCELED', `${op} '${key}': aborted by the caller`, { path: key, op });
    this.failures.check(op, otherKey === undefined ? [key] : [key, otherKey]);
  }

  private existing(key: string, op: string): MemoryNode {
    const node = this.tree.get(key);
    if (node === undefined) throw new FsError('ENOENT', `${op} '${key}': no such file or directory`, { path: key, op });
    return node;
  }

  private existingFile(key: string, op: string): MemoryFile {
    const node = this.existing(key, op);
    if (node.kind === 'directory') throw new FsError('EISDIR', `${op} '${key}': is a directory`, { path: key, op });
    return node;
  }

  private nextEtag(sha256: string): string {
    this.generation++;
    return `${sha256.slice(0, 16)}-${this.generation}`;
  }
}

function lowerCaseKeys(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), String(v)]));
}
