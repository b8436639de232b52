import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startServer, type ServerProcess } from '../process.js';

const ENTRY = fileURLToPath(new URL('./gcs-emulator-main.mjs', import.meta.url));

/** A running firebase-tools storage emulator (GCS JSON API) in a child process. */
export interface GcsEmulator {
  /** http://127.0.0.1:PORT of the emulator itself. */
  readonly endpoint: string;
  readonly port: number;
  readonly projectId: string;
  /** A locally generated service-account key file (signs v4 URLs; never sent anywhere). */
  readonly keyFile: string;
  readonly process: ServerProcess;
  /** Stops the emulator by its pid and removes its folder (blobs and key). */
  stop(): Promise<void>;
}

/**
 * Starts the emulator on 127.0.0.1 and a free port, with its blob folder in a
 * fresh temp dir (TMPDIR of the child), and writes a throwaway service-account
 * key next to it. ~1-2 s. `logUploads`: the child prints one line per upload
 * ("upload <media|multipart|resumable> <bucket>/<object>"), read with process.output().
 */
export async function startGcsEmulator(options: { logUploads?: boolean } = {}): Promise<GcsEmulator> {
  const dir = await mkdtemp(join(tmpdir(), 'storaged-gcs-'));
  const projectId = 'storaged-test';
  const keyFile = join(dir, 'service-account.json');
  await writeFile(keyFile, JSON.stringify(serviceAccountKey(projectId)));
  const port = await freePort();
  let child: ServerProcess;
  try {
    child = await startServer(process.execPath, [ENTRY, String(port), projectId], {
      port,
      env: { TMPDIR: dir, GCS_EMULATOR_LOG_UPLOADS: options.logUploads ? '1' : '0' },
      timeoutMs: 60_000,
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    projectId,
    keyFile,
    process: child,
    async stop() {
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A service-account key with a fresh RSA key pair: enough for local signing, useless elsewhere. */
function serviceAccountKey(projectId: string): Record<string, string> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = `storaged-test@${projectId}.iam.gserviceaccount.com`;
  return {
    type: 'service_account',
    project_id: projectId,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: email,
    client_id: '100000000000000000001',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
  };
}
