import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalDriver } from '../../../src/drivers/local/index.js';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import { createS3Driver } from '../../../src/drivers/s3/index.js';
import type { StorageDriver } from '../../../src/drivers/types.js';
import type { ConformanceFixture } from '../../conformance/fixture.js';
import { S3RVER_OVERRIDES, S3RVER_RACING_OVERWRITES, s3rverDiskConfig, startS3rver, type S3rver } from '../../support/servers/s3rver.js';
import { startUrlServer, type UrlServer } from '../../support/url-server.js';

/** The real backends a decorator is stacked on. */
export type BaseKind = 'memory' | 'local' | 's3';

/** What a wrap function learns about the base driver it wraps. */
export interface StackContext {
  base: BaseKind;
  /**
   * The URL prefix that serves the base driver's public files over real HTTP
   * (no trailing slash): `publicBaseUrl + '/' + encoded key` is that file.
   * Memory and local: a URL server of ours; s3: s3rver's own bucket URL.
   */
  publicBaseUrl: string;
}

/** Builds the decorator (stack) on a fresh base driver; the result owns `inner`. */
export type Wrap = (inner: StorageDriver, context: StackContext) => StorageDriver;

/** A conformance fixture whose drivers are a decorator stacked on one real base. */
export interface StackedFixture extends ConformanceFixture {
  readonly base: BaseKind;
  /** A fresh base driver and the decorator on it (closing `outer` closes `inner`). */
  createPair(): Promise<{ inner: StorageDriver; outer: StorageDriver; context: StackContext }>;
}

/**
 * One fixture per base (memory served over HTTP, a local mkdtemp folder
 * served over HTTP, s3 on s3rver), each wrapping its fresh driver with
 * `wrap`. Names read "<name> on memory" and so on.
 */
export function stackedFixtures(name: string, wrap: Wrap): StackedFixture[] {
  return [memoryStack(name, wrap), localStack(name, wrap), s3Stack(name, wrap)];
}

/** The fixture of one base (see stackedFixtures). */
export function stackedFixture(base: BaseKind, name: string, wrap: Wrap, options: StackOptions = {}): StackedFixture {
  if (base === 'memory') return memoryStack(name, wrap);
  if (base === 'local') return localStack(name, wrap);
  return s3Stack(name, wrap, options.s3Config ?? {});
}

/** Options of stackedFixture. */
export interface StackOptions {
  /** Extra s3 disk config keys (config.yaml names) of the s3rver base, e.g. `{ upload_concurrency: 1 }`. */
  s3Config?: Record<string, unknown>;
}

/** Turns a pair factory into the fixture's createDriver. */
function withDriver(fixture: Omit<StackedFixture, 'createDriver'>): StackedFixture {
  return { ...fixture, createDriver: async () => (await fixture.createPair()).outer };
}

const signingKey = randomBytes(32).toString('base64url');

function memoryStack(name: string, wrap: Wrap): StackedFixture {
  const inners: MemoryDriver[] = [];
  const servers: UrlServer[] = [];
  return withDriver({
    name: `${name} on memory (served URLs)`,
    base: 'memory',
    async start() {},
    async stop() {
      await Promise.all(servers.splice(0).map((server) => server.close()));
    },
    async createPair() {
      let inner: MemoryDriver | undefined;
      const server = await startUrlServer(() => inner, { basePath: '/files', signingKey });
      servers.push(server);
      inner = new MemoryDriver({ url: server.baseUrl, signingKey, diskName: 'stacked-memory' });
      inners.push(inner);
      const context: StackContext = { base: 'memory', publicBaseUrl: server.baseUrl };
      return { inner, outer: wrap(inner, context), context };
    },
    // The outage: every operation of every base driver fails with ECONNREFUSED until restored.
    async interrupt() {
      const outages = inners.map((driver) => driver.failures.inject({ op: '*', code: 'ECONNREFUSED' }));
      return async () => outages.forEach((outage) => outage.remove());
    },
  });
}

function localStack(name: string, wrap: Wrap): StackedFixture {
  let folder = '';
  let counter = 0;
  const servers: UrlServer[] = [];
  return withDriver({
    name: `${name} on local (mkdtemp folder)`,
    base: 'local',
    interruptSkipReason: 'a local folder cannot go away',
    async start() {
      folder = await mkdtemp(join(tmpdir(), 'storaged-stacked-local-'));
    },
    async stop() {
      await Promise.all(servers.splice(0).map((server) => server.close()));
      if (folder) await rm(folder, { recursive: true, force: true });
    },
    async createPair() {
      let inner: StorageDriver | undefined;
      const server = await startUrlServer(() => inner, { basePath: '/storage', signingKey });
      servers.push(server);
      const root = join(folder, `disk-${++counter}`);
      inner = createLocalDriver({ driver: 'local', root, url: server.baseUrl }, { diskName: 'stacked-local', signingKey });
      const context: StackContext = { base: 'local', publicBaseUrl: server.baseUrl };
      return { inner, outer: wrap(inner, context), context };
    },
  });
}

function s3Stack(name: string, wrap: Wrap, s3Config: Record<string, unknown> = {}): StackedFixture {
  let server: S3rver | undefined;
  return withDriver({
    name: `${name} on s3 (s3rver)`,
    base: 's3',
    racingOverwritesSkipReason: S3RVER_RACING_OVERWRITES,
    async start() {
      server = await startS3rver();
    },
    async stop() {
      await server?.stop();
      server = undefined;
    },
    async createPair() {
      if (!server) throw new Error('s3rver not started');
      const bucket = await server.createBucket();
      const config = s3rverDiskConfig(server, bucket, s3Config);
      const inner = createS3Driver(config, { diskName: 'stacked-s3' }, S3RVER_OVERRIDES);
      const context: StackContext = { base: 's3', publicBaseUrl: `${server.endpoint}/${bucket}` };
      return { inner, outer: wrap(inner, context), context };
    },
    async interrupt() {
      if (!server) throw new Error('s3rver not started');
      return server.interrupt();
    },
  });
}
