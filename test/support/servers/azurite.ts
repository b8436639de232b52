import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential, type PublicAccessType } from '@azure/storage-blob';
import { freePort, startServer, type ServerProcess } from '../process.js';

/** The account every azurite knows. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
/** Its well-known key (public, documented by Microsoft: not a secret). */
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** A running azurite blob service on 127.0.0.1, stopped and restarted by its own pid. */
export interface Azurite {
  readonly port: number;
  /** Blob endpoint: http://127.0.0.1:PORT/devstoreaccount1 */
  readonly endpoint: string;
  /** Connection string for the well-known account on this endpoint. */
  readonly connectionString: string;
  readonly dataDir: string;
  /** An admin client (shared key) for setup and out-of-band checks. */
  readonly service: BlobServiceClient;
  /** A new, empty container with a unique name; `access` 'blob' allows anonymous blob reads. */
  createContainer(access?: PublicAccessType): Promise<string>;
  /** Stops the server process (its data stays); the returned function starts it again on the same port and folder. */
  interrupt(): Promise<() => Promise<void>>;
  /** Stops the server and deletes its data folder. */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const AZURITE_BLOB_MAIN = join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');

/**
 * Starts azurite's blob service as BACKENDS.md says (--skipApiVersionCheck
 * for the current SDK, --disableTelemetry to stay off the network), running
 * its JS entry with `node` so the pid we hold is the server itself.
 */
export async function startAzurite(): Promise<Azurite> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'storaged-azurite-'));
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const args = [
    AZURITE_BLOB_MAIN,
    '--silent',
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--location',
    dataDir,
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    String(port),
  ];
  const launch = () => startServer(process.execPath, args, { port, timeoutMs: 30_000 });
  let server: ServerProcess | undefined = await launch();
  const service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), {
    retryOptions: { maxTries: 2, retryDelayInMs: 100 },
  });
  let containers = 0;
  return {
    port,
    endpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    dataDir,
    service,
    async createContainer(access?: PublicAccessType) {
      const name = `c-${process.pid}-${++containers}-${Date.now().toString(36)}`;
      await service.getContainerClient(name).create(access ? { access } : {});
      return name;
    },
    async interrupt() {
      await server?.stop();
      server = undefined;
      return async () => {
        server = await launch();
      };
    },
    async stop() {
      await server?.stop();
      server = undefined;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
