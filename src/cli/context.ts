import { join } from 'node:path';
import { loadConfig, type StoragedConfig } from '../core/config/loader.js';
import type { DiskConfig } from '../core/config/schema.js';
import { fromSystemError } from '../core/errors.js';
import { resolveSigningKey } from '../core/signing.js';
import { createDriver } from '../drivers/registry.js';
import type { StorageDriver } from '../drivers/types.js';
import { oneLine } from './errors.js';
import { parseTarget, unknownDisk, type Target } from './target.js';

/** Options every command accepts (parsed by the root program). */
export interface GlobalOptions {
  /** Explicit config file (--config). */
  config?: string;
}

/** Longest wait for drivers to release their connections on exit. */
const CLOSE_TIMEOUT_MS = 2000;

/**
 * What a command needs from its surroundings: the config (loaded on first
 * use, so `--help` never reads it), drivers built on demand and cached per
 * disk, and `close()` to release them all. Vendor SDKs load only with the
 * first driver that needs them (see the registry).
 */
export class CliContext {
  #config: StoragedConfig | undefined;
  #signingKey: string | null | undefined;
  readonly #drivers = new Map<string, Promise<StorageDriver>>();

  constructor(
    private readonly globals: () => GlobalOptions,
    private readonly warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  /** The loaded config; throws ConfigError / ConfigErrors on a bad file. */
  get config(): StoragedConfig {
    this.#config ??= loadConfig(this.globals().config);
    return this.#config;
  }

  /** Configured disk names, in file order. */
  diskNames(): string[] {
    return Object.keys(this.config.disks);
  }

  /** A disk's validated config; FsError EINVAL for an unknown name. */
  diskConfig(name: string): DiskConfig {
    const disk = this.config.disks[name];
    if (disk === undefined) throw unknownDisk(name, this.diskNames());
    return disk;
  }

  /** Parses a `disk:path` argument (see parseTarget). */
  target(spec: string): Target {
    return parseTarget(spec, this.diskNames(), this.config.defaultDisk);
  }

  /** The disk's driver, built once per process. Rejects with the factory's FsError. */
  driver(name: string): Promise<StorageDriver> {
    let pending = this.#drivers.get(name);
    if (pending === undefined) {
      pending = this.#build(name);
      this.#drivers.set(name, pending);
    }
    return pending;
  }

  /** Closes every driver built so far, waiting at most a couple of seconds. */
  async close(): Promise<void> {
    const closing = [...this.#drivers.values()].map(async (pending) => {
      const driver = await pending.catch(() => undefined);
      await driver?.close().catch(() => undefined);
    });
    this.#drivers.clear();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      timer.unref();
    });
    await Promise.race([Promise.all(closing), timeout]);
    clearTimeout(timer);
  }

  async #build(name: string): Promise<StorageDriver> {
    const config = this.diskConfig(name);
    const signingKey = this.#resolveSigningKey();
    return createDriver(config, { diskName: name, ...(signingKey === null ? {} : { signingKey }) });
  }

  /**
   * The HMAC signing key (configured, or kept in the cache folder). If the
   * key file cannot be created the CLI still works, without signed URLs.
   */
  #resolveSigningKey(): string | null {
    if (this.#signingKey !== undefined) return this.#signingKey;
    const keyFile = join(this.config.cache.dir, 'signing-key');
    try {
      this.#signingKey = resolveSigningKey(this.config.signingKey, keyFile);
    } catch (first) {
      try {
        // Another process may have created the file between our check and our write.
        this.#signingKey = resolveSigningKey(this.config.signingKey, keyFile);
      } catch {
        const err = fromSystemError(first, { op: 'signing key', path: keyFile });
        this.warn(`storaged: warning: ${oneLine(err.message)} [${err.code}]; signed URLs are disabled`);
        this.#signingKey = null;
      }
    }
    return this.#signingKey;
  }
}
