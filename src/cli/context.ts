import { join } from 'node:path';
import { configuredDiskNames, loadConfig, type StoragedConfig } from '../core/config/loader.js';
import { fromSystemError } from '../core/errors.js';
import { resolveSigningKey } from '../core/signing.js';
import type { StorageDriver } from '../drivers/types.js';
import type { AnyDiskConfig } from '../storage/builders.js';
import { checkDecoratorDisks } from '../storage/decorators/config-check.js';
import { DECORATOR_DRIVERS, type DecoratorDiskConfig } from '../storage/decorators/config.js';
import type { StorageManager } from '../storage/manager.js';
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
 * disk, and `close()` to release them all. Drivers come from the storage
 * layer (a StorageManager over the loaded config), so decorator disks
 * (scoped, read-only, encrypted, cached, cdn) work like any other. Vendor
 * SDKs load only with the first driver that needs them (see the registry).
 */
export class CliContext {
  #config: StoragedConfig | undefined;
  #decorators: Record<string, DecoratorDiskConfig> = {};
  #signingKey: string | null | undefined;
  #storage: Promise<StorageManager> | undefined;

  constructor(
    private readonly globals: () => GlobalOptions,
    private readonly warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  /**
   * The loaded config, decorator disks included and checked (their keys, the
   * disks they wrap, no loops); throws ConfigError / ConfigErrors on a bad file.
   */
  get config(): StoragedConfig {
    if (this.#config === undefined) {
      const config = loadConfig(this.globals().config, process.env, process.cwd(), { customDrivers: DECORATOR_DRIVERS });
      this.#decorators = checkDecoratorDisks(config);
      this.#config = config;
    }
    return this.#config;
  }

  /** Configured disk names, in file order. */
  diskNames(): string[] {
    return configuredDiskNames(this.config);
  }

  /** A disk's config (a backend's validated config, or a decorator's as written); FsError EINVAL for an unknown name. */
  diskConfig(name: string): AnyDiskConfig {
    const disk = this.config.disks[name] ?? this.config.customDisks?.[name];
    if (disk === undefined) throw unknownDisk(name, this.diskNames());
    return disk;
  }

  /** The parsed decorator disks of the config, by name (see checkDecoratorDisks). */
  decoratorDisks(): Record<string, DecoratorDiskConfig> {
    void this.config;
    return this.#decorators;
  }

  /** Parses a `disk:path` argument (see parseTarget). */
  target(spec: string): Target {
    return parseTarget(spec, this.diskNames(), this.config.defaultDisk);
  }

  /**
   * The disk's driver, built once per process by the storage layer (a
   * decorator disk builds the disk it wraps as its own inner driver).
   * Rejects with the builder's FsError.
   */
  async driver(name: string): Promise<StorageDriver> {
    this.diskConfig(name); // an unknown name: the CLI's message, with its hints
    const storage = await this.#manager();
    return storage.disk(name).driver();
  }

  /** Closes every driver built so far, waiting at most a couple of seconds. */
  async close(): Promise<void> {
    const pending = this.#storage;
    this.#storage = undefined;
    if (pending === undefined) return;
    const closing = pending.then((storage) => storage.close()).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      timer.unref();
    });
    await Promise.race([closing, timeout]);
    clearTimeout(timer);
  }

  /**
   * The StorageManager every driver comes from, made on the first driver()
   * over the loaded config, with the CLI's signing key (resolved here, so a
   * key file that cannot be made gives the CLI's warning line).
   */
  #manager(): Promise<StorageManager> {
    this.#storage ??= (async () => {
      const config = this.config;
      const signingKey = this.#resolveSigningKey();
      // Loaded on use: commands that build no driver never load the storage layer.
      const { StorageManager } = await import('../storage/manager.js');
      return new StorageManager({ config: signingKey === null ? config : { ...config, signingKey } });
    })();
    return this.#storage;
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
