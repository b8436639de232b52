import { configuredDiskNames, type StoragedConfig } from '../core/config/loader.js';
import { suggest } from '../core/config/errors.js';
import { FsError } from '../core/errors.js';
import type { StorageDriver } from '../drivers/types.js';
import { checkDecoratorDisks } from './decorators/config-check.js';
import { builtInBuilders, isBuiltInDriver, type AnyDiskConfig, type DiskBuilder } from './builders.js';
import { installDefaultDiskMethods, type DefaultDiskMethods } from './default-disk.js';
import { Disk, type DiskOptions } from './disk.js';
import { LazyDriver } from './driver-source.js';
import { StorageEvents, type ListenerErrorHandler, type StorageEventName, type StorageListener } from './events.js';
import { createFakeDisk, type FakeDisk, type FakeOptions } from './fake.js';
import { loadManagerConfig, runtimeDiskConfig, signingKeyFor, type ConfigInput } from './manager-config.js';

/** Options of a StorageManager. */
export interface StorageManagerOptions {
  /** The configuration (default: ./config.yaml, then $STORAGED_CONFIG, else the embedded default), read on first use. */
  config?: ConfigInput;
  /** Environment for `${VAR}` in config files (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Folder the config file is looked for in, and relative paths of runtime disks resolve against (default process.cwd()). */
  cwd?: string;
  /** Where errors of event listeners go (default: a process warning). */
  onListenerError?: ListenerErrorHandler;
  /** Options every disk of this manager gets. */
  diskOptions?: Pick<DiskOptions, 'maxRewriteBytes' | 'listPageSize'>;
}

/** Options of build(). */
export interface BuildOptions extends Pick<DiskOptions, 'maxRewriteBytes' | 'listPageSize'> {
  /** The disk's name in events and messages (default 'ondemand'). */
  name?: string;
  /** HMAC secret for signed URLs of local, ftp and memory disks with a `url` (default: none, so no temporary URLs). */
  signingKey?: string;
}

/**
 * The Storage manager: named disks from config.yaml (read lazily, on first
 * use), disks configured at run time, disks built from options, fakes for
 * tests, and events of every disk. It also offers every Disk method itself,
 * running on the default disk: `Storage.put('a.txt', 'hi')`.
 *
 * Drivers are built on a disk's first operation, once per disk name, and
 * closed by close(). Decorators and custom backends plug in with extend():
 * the builder map (driver name to DiskBuilder) is the one extension point.
 */
export class StorageManager {
  /** The hub every disk of this manager forwards its events to. */
  readonly events: StorageEvents;
  readonly #options: StorageManagerOptions;
  #configInput: ConfigInput | undefined;
  #config: StoragedConfig | undefined;
  #defaultDisk: string | undefined;
  #signingKey: string | null | undefined;
  readonly #runtimeDisks = new Map<string, AnyDiskConfig>();
  readonly #disks = new Map<string, Disk>();
  readonly #fakes = new Map<string, FakeDisk>();
  readonly #builders = builtInBuilders();

  constructor(options: StorageManagerOptions = {}) {
    this.#options = options;
    this.#configInput = options.config;
    this.events = new StorageEvents(undefined, options.onListenerError);
  }

  /**
   * Replaces the configuration: a config.yaml path, an object in its shape,
   * or a loaded StoragedConfig. It is validated now (ConfigError, EINVAL).
   * Disks built from the old configuration are closed (in the background);
   * disks from configureDisk and fakes stay.
   */
  useConfig(input: ConfigInput): this {
    const config = checked(loadManagerConfig(input, this.#where()));
    this.#configInput = input;
    this.#config = config;
    this.#signingKey = undefined;
    for (const name of [...this.#disks.keys()]) if (!this.#runtimeDisks.has(name)) this.#drop(name);
    return this;
  }

  /** The configuration in use (loaded on the first call). Throws ConfigError / ConfigErrors (EINVAL). */
  config(): StoragedConfig {
    this.#config ??= checked(loadManagerConfig(this.#configInput, this.#where()));
    return this.#config;
  }

  /** Names of every disk: from the config and from configureDisk. */
  diskNames(): string[] {
    const config = this.config();
    return [...new Set([...configuredDiskNames(config), ...this.#runtimeDisks.keys()])];
  }

  /** Name of the default disk (setDefaultDisk's, else the config's `default`). */
  defaultDiskName(): string {
    return this.#defaultDisk ?? this.config().defaultDisk;
  }

  /** Makes `name` the default disk (EINVAL when no such disk is configured). */
  setDefaultDisk(name: string): this {
    this.#configFor(name);
    this.#defaultDisk = name;
    return this;
  }

  /**
   * The disk `name` (default: the default disk): its fake while one is
   * active, else the configured disk, built once and cached. Throws FsError
   * EINVAL naming the known disks for an unknown name, ConfigError for a bad
   * config. With `{ missingAsNull: true }`: the disk's orNull() view.
   */
  disk(name?: string): Disk;
  disk(name: string | undefined, options: { missingAsNull: true }): Disk<null>;
  disk(name?: string, options: { missingAsNull?: boolean } = {}): Disk | Disk<null> {
    const diskName = name ?? this.defaultDiskName();
    const disk = this.#fakes.get(diskName) ?? this.#disks.get(diskName) ?? this.#create(diskName);
    return options.missingAsNull ? disk.orNull() : disk;
  }

  /**
   * Adds or replaces the disk `name` at run time, as the seed's
   * `configure_disk("s3_backup", "s3", bucket=...)`: `configureDisk('backup',
   * 's3', { bucket, region, key, secret })` or `configureDisk('backup',
   * { driver: 's3', ... })`. Keys as in config.yaml (snake_case) or camelCase.
   * Validated now (ConfigError, EINVAL, naming the key). A disk of that name
   * already built is closed in the background and replaced. While the name
   * is faked, the fake is what disk(name) (and this call) answers; the new
   * config applies after restore().
   */
  configureDisk(name: string, driverOrConfig: string | Record<string, unknown>, options: Record<string, unknown> = {}): Disk {
    const config = runtimeDiskConfig(name, driverOrConfig, options, { baseDir: this.#cwd(), customDrivers: this.#customDrivers() });
    this.#drop(name);
    this.#runtimeDisks.set(name, config);
    return this.#fakes.get(name) ?? this.#create(name);
  }

  /**
   * A disk from options alone, outside the configuration (Laravel's
   * Storage::build): a disk config (`{ driver: 'local', root: '/tmp/x' }`,
   * validated like configureDisk's) or a ready StorageDriver (a decorator
   * stack, say). The caller owns it: close it with disk.close(). Its events
   * reach this manager's listeners too.
   */
  build(configOrDriver: Record<string, unknown> | StorageDriver, options: BuildOptions = {}): Disk {
    const name = options.name ?? 'ondemand';
    const diskOptions: DiskOptions = { ...this.#options.diskOptions, ...pickDiskOptions(options), name, parentEvents: this.events };
    if (isDriver(configOrDriver)) return new Disk(configOrDriver, diskOptions);
    const config = runtimeDiskConfig(name, configOrDriver, {}, { baseDir: this.#cwd(), customDrivers: this.#customDrivers() });
    return new Disk(new LazyDriver(() => this.#buildDriver(name, config, [name], options.signingKey)), diskOptions);
  }

  /**
   * Registers the builder for disks whose `driver` is `driverName`: a custom
   * backend, or a decorator (its builder gets the inner disk from
   * context.buildDriver). Replaces a builder of the same name, built-in ones
   * included. Call it before the first use of a disk that needs it.
   */
  extend(driverName: string, builder: DiskBuilder): this {
    const known = this.#builders.has(driverName);
    this.#builders.set(driverName, builder);
    // A config read before this driver existed refused its disks: read it again on next use.
    if (!known) this.#config = undefined;
    return this;
  }

  /**
   * Swaps the disk `name` (default: the default disk) for a fake: an empty
   * memory disk, or a temporary folder with `{ kind: 'folder' }`, with working
   * URLs (see FakeDisk). Until restore(), disk(name) answers the fake; a disk
   * object fetched before fake() keeps using the real driver. Faking a name
   * that is not configured is allowed. Faking it again starts a fresh fake.
   */
  fake(name?: string, options: FakeOptions = {}): FakeDisk {
    const diskName = name ?? this.defaultDiskName();
    const previous = this.#fakes.get(diskName);
    const fake = createFakeDisk(diskName, options, this.events);
    this.#fakes.set(diskName, fake);
    if (previous !== undefined) void previous.dispose().catch(warnClose(diskName));
    return fake;
  }

  /** Ends the fake of `name` (default: every fake): closes it, deletes its temporary folder, and disk(name) is the real disk again. */
  async restore(name?: string): Promise<void> {
    const names = name === undefined ? [...this.#fakes.keys()] : [name];
    const fakes = names.flatMap((n) => this.#fakes.get(n) ?? []);
    for (const n of names) this.#fakes.delete(n);
    await Promise.all(fakes.map((fake) => fake.dispose()));
  }

  /** Listens to events of every disk of this manager (an audit trail); returns a function that removes the listener. */
  on<K extends StorageEventName>(name: K, listener: StorageListener<K>): () => void {
    return this.events.on(name, listener);
  }

  /** Like on(), for the next matching event only. */
  once<K extends StorageEventName>(name: K, listener: StorageListener<K>): () => void {
    return this.events.once(name, listener);
  }

  /** Removes a listener added with on(). */
  off<K extends StorageEventName>(name: K, listener: StorageListener<K>): void {
    this.events.off(name, listener);
  }

  /**
   * Closes the driver of every disk built so far and ends every fake. The
   * manager stays usable: the next disk() builds afresh. Disks from build()
   * are their caller's to close.
   */
  async close(): Promise<void> {
    const disks = [...this.#disks.values()];
    this.#disks.clear();
    await Promise.all([...disks.map((disk) => disk.close()), this.restore()]);
  }

  #create(name: string): Disk {
    const config = this.#configFor(name);
    const disk = new Disk(new LazyDriver(() => this.#buildDriver(name, config, [name], 'manager')), {
      ...this.#options.diskOptions,
      name,
      parentEvents: this.events,
    });
    this.#disks.set(name, disk);
    return disk;
  }

  #configFor(name: string): AnyDiskConfig {
    const runtime = this.#runtimeDisks.get(name);
    if (runtime !== undefined) return runtime;
    const config = this.config();
    const found = config.disks[name] ?? config.customDisks?.[name];
    if (found !== undefined) return found;
    const known = this.diskNames();
    const hint = suggest(name, known);
    throw new FsError('EINVAL', `unknown disk '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}; configured disks: ${known.join(', ') || '(none)'}`, {
      op: 'disk',
    });
  }

  /**
   * Builds the driver of disk `name` with the builder of its `driver`.
   * `signingKey`: build()'s own key, or 'manager' for the config's, looked up
   * (and, as the CLI does, generated into <cache.dir>/signing-key) only for
   * disks that sign URLs with it: local, ftp and memory disks with a `url`,
   * and custom-driver disks with a `url`.
   */
  async #buildDriver(name: string, config: AnyDiskConfig, chain: string[], signingKey: string | undefined | 'manager'): Promise<StorageDriver> {
    const builder = this.#builders.get(config.driver);
    if (builder === undefined) {
      const known = [...this.#builders.keys()].join(', ');
      throw new FsError('EINVAL', `disk '${name}': no builder for driver '${config.driver}' (known: ${known}; register one with extend())`, { op: 'disk' });
    }
    const key = signingKey === 'manager' ? (signsWithHmac(config) ? this.#managerSigningKey() : undefined) : signingKey;
    const fromConfig = signingKey === 'manager' && !this.#runtimeDisks.has(name);
    return builder(config, {
      diskName: name,
      ...(key !== undefined ? { signingKey: key } : {}),
      baseDir: fromConfig ? this.config().baseDir : this.#cwd(),
      source: fromConfig ? (this.config().file ?? '<config object>') : `configureDisk('${name}')`,
      cacheDir: this.config().cache.dir,
      buildDriver: async (inner) => {
        if (chain.includes(inner)) {
          throw new FsError('EINVAL', `disk '${chain[0]}' wraps itself: ${[...chain, inner].join(' -> ')}`, { op: 'disk' });
        }
        return this.#buildDriver(inner, this.#configFor(inner), [...chain, inner], 'manager');
      },
    });
  }

  /** The config's signing key (see signingKeyFor), looked up once; undefined without a usable config. */
  #managerSigningKey(): string | undefined {
    if (this.#signingKey === undefined) {
      try {
        this.#signingKey = signingKeyFor(this.config());
      } catch {
        this.#signingKey = null;
      }
    }
    return this.#signingKey ?? undefined;
  }

  #drop(name: string): void {
    const disk = this.#disks.get(name);
    this.#disks.delete(name);
    if (disk !== undefined) void disk.close().catch(warnClose(name));
  }

  #where() {
    return { env: this.#options.env ?? process.env, cwd: this.#cwd(), customDrivers: this.#customDrivers() };
  }

  #cwd(): string {
    return this.#options.cwd ?? process.cwd();
  }

  #customDrivers(): string[] {
    return [...this.#builders.keys()].filter((name) => !isBuiltInDriver(name));
  }
}

// The default-disk shortcuts (Storage.put, Storage.get, ...) are added to the prototype below.
export interface StorageManager extends DefaultDiskMethods {}
installDefaultDiskMethods(StorageManager.prototype, (self) => (self as StorageManager).disk());

/**
 * The default manager: `import { Storage } from 'storaged'`. It reads
 * ./config.yaml (or $STORAGED_CONFIG, or the embedded default) on first use;
 * Storage.useConfig() points it elsewhere.
 */
export const Storage = new StorageManager();

/** The config, once its decorator disks passed checkDecoratorDisks (every problem reported at load, not at first use). */
function checked(config: StoragedConfig): StoragedConfig {
  checkDecoratorDisks(config);
  return config;
}

function warnClose(name: string): (err: unknown) => void {
  return (err) => process.emitWarning(`storaged: closing disk '${name}' failed: ${err instanceof Error ? err.message : String(err)}`);
}

function pickDiskOptions(options: BuildOptions): Pick<DiskOptions, 'maxRewriteBytes' | 'listPageSize'> {
  return {
    ...(options.maxRewriteBytes !== undefined ? { maxRewriteBytes: options.maxRewriteBytes } : {}),
    ...(options.listPageSize !== undefined ? { listPageSize: options.listPageSize } : {}),
  };
}

/** Drivers that sign temporary URLs with the HMAC key (the others presign natively). */
const HMAC_DRIVERS = new Set(['local', 'ftp', 'memory']);

function signsWithHmac(config: AnyDiskConfig): boolean {
  return config.url !== undefined && (HMAC_DRIVERS.has(config.driver) || !isBuiltInDriver(config.driver));
}

function isDriver(value: Record<string, unknown> | StorageDriver): value is StorageDriver {
  return typeof (value as StorageDriver).stat === 'function' && typeof (value as StorageDriver).write === 'function';
}
