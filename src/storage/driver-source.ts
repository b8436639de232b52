import type { StorageDriver } from '../drivers/types.js';

/**
 * Where a Disk gets its driver: built on first use (configured disks load
 * their vendor SDK only then), then the same instance until close().
 */
export interface DriverSource {
  /** The driver; builds it on the first call. A failed build rejects every call with the same error. */
  get(): Promise<StorageDriver>;
  /** Closes the driver if it was built. Later get() calls build a new one. */
  close(): Promise<void>;
}

/** A DriverSource over a factory, building lazily and once. */
export class LazyDriver implements DriverSource {
  #pending: Promise<StorageDriver> | undefined;

  constructor(private readonly build: () => StorageDriver | Promise<StorageDriver>) {}

  /** A source for a driver that already exists. */
  static of(driver: StorageDriver): LazyDriver {
    return new LazyDriver(() => driver);
  }

  /** True once get() was called (the driver is built or being built). */
  get started(): boolean {
    return this.#pending !== undefined;
  }

  get(): Promise<StorageDriver> {
    this.#pending ??= (async () => this.build())();
    return this.#pending;
  }

  async close(): Promise<void> {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending === undefined) return;
    const driver = await pending.catch(() => undefined);
    await driver?.close();
  }
}
