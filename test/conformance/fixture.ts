import type { StorageDriver } from '../../src/drivers/types.js';

/**
 * How the conformance suite reaches one driver on its real backend. A test
 * file builds one fixture and calls describeConformance(fixture).
 */
export interface ConformanceFixture {
  /** Label shown in test names, e.g. "s3 (s3rver)". */
  name: string;
  /** Start the backend (once per test file, in beforeAll). */
  start(): Promise<void>;
  /** Stop the backend by its pid and remove its data (afterAll). */
  stop(): Promise<void>;
  /**
   * A driver on a fresh, empty namespace (new bucket, container, folder...),
   * so cases do not see each other's files. The suite closes it.
   */
  createDriver(): Promise<StorageDriver>;
  /**
   * Make the backend unreachable for drivers already created (stop the
   * server, keep its data); the returned function brings it back on the same
   * address. Omitted when the backend cannot go away (local disk): the suite
   * skips the outage case and says why.
   */
  interrupt?(): Promise<() => Promise<void>>;
  /** Why `interrupt` is omitted, shown in the skip. */
  interruptSkipReason?: string;
  /**
   * Set when the backend's server is known to interleave concurrent
   * overwrites of one key (a flaw of a test server, which real services do
   * not share): the racing-overwrites case is skipped with this reason.
   */
  racingOverwritesSkipReason?: string;
}
