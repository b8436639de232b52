// Child-process entry of the GCS emulator used by tests: the firebase-tools
// storage emulator, started directly (no `firebase emulators:start`, which
// wants Java). Usage: node gcs-emulator-main.mjs PORT [PROJECT_ID]
//
// The GCS JSON API routes use the admin storage layer and never consult
// security rules, so the rules runtime (a Java process) and the rules file
// watcher are replaced by no-ops. The emulator keeps blobs under
// os.tmpdir()/firebase/storage/blobs: the parent sets TMPDIR to a fresh
// folder so two emulators never share (or delete) each other's files.
// Stops on SIGTERM/SIGINT. GCS_EMULATOR_LOG_UPLOADS=1 logs each upload's protocol.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { StorageEmulator } = require('firebase-tools/lib/emulator/storage');
const { EmulatorRegistry } = require('firebase-tools/lib/emulator/registry');

const port = Number(process.argv[2]);
const projectId = process.argv[3] ?? 'storaged-test';
if (!Number.isInteger(port) || port <= 0) {
  console.error(`usage: gcs-emulator-main.mjs PORT [PROJECT_ID] (got port '${process.argv[2]}')`);
  process.exit(2);
}

const emulator = new StorageEmulator({
  host: '127.0.0.1',
  port,
  projectId,
  auto_download: false,
  rules: { name: 'storage.rules', content: '' },
});
const noop = async () => undefined;
// Private fields of StorageEmulator (firebase-tools 15.x): the Java rules
// runtime and the chokidar-backed rules manager. Neither is used by /b/... routes.
emulator._rulesRuntime.start = noop;
emulator._rulesRuntime.stop = noop;
emulator._rulesManager.start = noop;
emulator._rulesManager.stop = noop;

// Optional upload log for tests that check which upload protocol a client used:
// one stdout line per upload, "upload <media|multipart|resumable> <bucket>/<object>".
if (process.env.GCS_EMULATOR_LOG_UPLOADS === '1') {
  const uploads = emulator.uploadService;
  for (const [method, kind] of [
    ['mediaUpload', 'media'],
    ['multipartUpload', 'multipart'],
    ['startResumableUpload', 'resumable'],
  ]) {
    const original = uploads[method].bind(uploads);
    uploads[method] = (request) => {
      console.log(`upload ${kind} ${request.bucketId}/${request.objectId}`);
      return original(request);
    };
  }
}

await EmulatorRegistry.start(emulator);
console.log(`gcs emulator listening on 127.0.0.1:${port}`);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  try {
    await emulator.stop();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
