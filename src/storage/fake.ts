import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsError } from '../core/errors.js';
import { verifySignedUrl, type SignedMethod } from '../core/signing.js';
import { createLocalDriver } from '../drivers/local/index.js';
import { MemoryDriver } from '../drivers/memory/index.js';
import type { StorageDriver } from '../drivers/types.js';
import { Disk } from './disk.js';
import type { StorageEvents } from './events.js';

/** Options of Storage.fake. */
export interface FakeOptions {
  /** 'memory' (default): files live in this process; 'folder': a fresh temporary folder, deleted on restore. */
  kind?: 'memory' | 'folder';
  /** Base of the fake's URLs (default `https://fake.storaged.invalid/<disk name>`). */
  url?: string;
}

/**
 * A disk that stands in for a real one in application tests (see
 * StorageManager.fake): a memory or temporary-folder driver with URLs and a
 * generated signing key, so url(), temporaryUrl() and temporaryUploadUrl()
 * work and verifyTemporaryUrl() can check what they gave. It has every Disk
 * method, assertions included, and emits events like the real disk would.
 */
export class FakeDisk extends Disk {
  /** 'memory' or 'folder'. */
  readonly kind: 'memory' | 'folder';
  /** The temporary folder of a 'folder' fake (removed by dispose). */
  readonly root: string | undefined;
  /** Base URL of url() and the signed URLs. */
  readonly baseUrl: string;
  /** The generated HMAC key the temporary URLs are signed with. */
  readonly signingKey: string;

  /** Use createFakeDisk (or Storage.fake) rather than this constructor. */
  constructor(
    driver: StorageDriver,
    setup: { name: string; kind: 'memory' | 'folder'; root?: string; baseUrl: string; signingKey: string; parentEvents?: StorageEvents },
  ) {
    super(driver, { name: setup.name, ...(setup.parentEvents !== undefined ? { parentEvents: setup.parentEvents } : {}) });
    this.kind = setup.kind;
    this.root = setup.root;
    this.baseUrl = setup.baseUrl;
    this.signingKey = setup.signingKey;
  }

  /**
   * Checks a URL that temporaryUrl (GET) or temporaryUploadUrl (PUT) of this
   * fake gave, as the storaged HTTP server would, and returns the disk path
   * it grants. Throws FsError EACCES when it is expired, tampered with, for
   * another method, or not under this fake's base URL.
   */
  verifyTemporaryUrl(url: string, method: SignedMethod = 'GET'): string {
    const base = new URL(this.baseUrl);
    const given = new URL(url, base);
    const basePath = base.pathname.replace(/\/+$/, '');
    if (given.origin !== base.origin || !given.pathname.startsWith(`${basePath}/`)) {
      throw new FsError('EACCES', `signed URL '${url}' is not a URL of fake disk '${this.name}' (${this.baseUrl})`, { op: 'verify-url' });
    }
    verifySignedUrl(given.toString(), this.signingKey, method);
    return given.pathname.slice(basePath.length + 1).split('/').map(decodeURIComponent).join('/');
  }

  /** Closes the driver and removes the temporary folder (a 'folder' fake). */
  async dispose(): Promise<void> {
    await this.close();
    if (this.root !== undefined) await rm(this.root, { recursive: true, force: true });
  }
}

/** Builds a fake disk named `name`; `parentEvents` (the manager's hub) also hears its events. */
export function createFakeDisk(name: string, options: FakeOptions = {}, parentEvents?: StorageEvents): FakeDisk {
  const kind = options.kind ?? 'memory';
  if (kind !== 'memory' && kind !== 'folder') {
    throw new FsError('EINVAL', `fake '${name}': kind must be 'memory' or 'folder', got '${String(kind)}'`, { op: 'fake' });
  }
  const baseUrl = (options.url ?? `https://fake.storaged.invalid/${encodeURIComponent(name)}`).replace(/\/+$/, '');
  const signingKey = randomBytes(32).toString('base64url');
  const events = parentEvents !== undefined ? { parentEvents } : {};
  if (kind === 'memory') {
    const driver = new MemoryDriver({ url: baseUrl, signingKey, diskName: name });
    return new FakeDisk(driver, { name, kind, baseUrl, signingKey, ...events });
  }
  const root = mkdtempSync(join(tmpdir(), `storaged-fake-${name.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  const driver = createLocalDriver({ driver: 'local', root, url: baseUrl }, { diskName: name, signingKey });
  return new FakeDisk(driver, { name, kind, root, baseUrl, signingKey, ...events });
}
