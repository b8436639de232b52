import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { FsError, fromSystemError, isFsError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { HooksEngine } from '../../daemon/hooks/engine.js';
import type { CliContext } from '../context.js';
import { printError } from '../errors.js';
import { StopSignals } from '../stop-signals.js';

/**
 * Registers `storaged watch`: runs the hooks of the config's local watched
 * folders (`watch.<name>.local`) in the foreground. Jobs a previous run
 * left (a stop, a crash) resume first; files already in the folders are
 * processed too. Prints `watching N folders: a, b` on stderr once ready
 * (logs are pino JSON lines on stderr, like `storaged mount`). The first
 * SIGINT/SIGTERM stops cleanly (jobs in flight stop and resume at the next
 * start) and exits 0; a second one exits 1 at once. A config without a
 * local watched folder is FsError EINVAL; another live `storaged watch` of
 * the same cache folder is EBUSY.
 */
export function registerWatchCommand(program: Command, ctx: CliContext): void {
  program
    .command('watch')
    .description('run the hooks of the local watched folders (watch.<name>.local) in the foreground until SIGINT or SIGTERM')
    .action(async () => {
      process.exitCode = await serveWatch(ctx);
    });
}

/** Runs the local engine until stopped; resolves to the exit code. */
async function serveWatch(ctx: CliContext): Promise<number> {
  const config = ctx.config;
  const locals = (config.watches ?? []).filter((watch) => watch.kind === 'local');
  if (locals.length === 0) {
    throw new FsError('EINVAL', 'no local watched folder is configured: add watch.<name>.local to config.yaml (folders inside a disk run with `storaged mount`)', {
      op: 'watch',
    });
  }
  const logger = createLogger('storaged');
  // Listening from the start: a signal that arrives while the engine comes up still stops it cleanly.
  const signals = new StopSignals();
  try {
    for (const watch of locals) await createFolder(watch.localPath!);
    // Loaded on use: other commands never load SQLite, sharp or chokidar.
    const { HooksEngine } = await import('../../daemon/hooks/engine.js');
    const engine = openEngine(() => HooksEngine.open(config, { local: true }, logger));
    try {
      await engine.start();
    } catch (err) {
      await engine.close().catch((closeErr: unknown) => logger.error({ err: closeErr }, 'closing the drop-folder engine failed'));
      throw err;
    }
    const names = engine.watchNames;
    process.stderr.write(`watching ${names.length} ${names.length === 1 ? 'folder' : 'folders'}: ${names.join(', ')}\n`);
    return await untilStopped(engine, signals, logger);
  } finally {
    signals.dispose();
  }
}

/** Opens the local engine; another live `storaged watch` holding its folder is EBUSY saying so. */
function openEngine(open: () => HooksEngine | undefined): HooksEngine {
  let engine: HooksEngine | undefined;
  try {
    engine = open();
  } catch (err) {
    if (isFsError(err, 'EBUSY')) {
      const owner = /process (\d+)/.exec(err.message)?.[1];
      const by = owner === undefined ? 'another storaged watch' : `another storaged watch (process ${owner})`;
      throw new FsError('EBUSY', `the local watched folders are already being run by ${by}; their jobs are in '${err.path ?? ''}'`, { op: 'watch', cause: err });
    }
    throw err;
  }
  if (engine === undefined) throw new FsError('EINVAL', 'no local watched folder is configured', { op: 'watch' });
  return engine;
}

/** Creates a watched folder that does not exist yet (a drop folder nobody dropped into). */
async function createFolder(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (err) {
    throw fromSystemError(err, { path, op: 'watch' });
  }
}

/**
 * Waits for SIGINT/SIGTERM, then closes the engine (unfinished jobs stay
 * recorded and resume at the next start): 0 when that went well, else 1.
 * A second signal exits 1 at once.
 */
function untilStopped(engine: HooksEngine, signals: StopSignals, logger: Logger): Promise<number> {
  return new Promise((resolveExit) => {
    let stopping = false;
    signals.listen((signal, count) => {
      if (count === 1 && !stopping) {
        stopping = true;
        process.stderr.write(`storaged: ${signal}: stopping; jobs in flight resume at the next start\n`);
        engine.close().then(
          () => resolveExit(0),
          (err: unknown) => {
            printError(err);
            resolveExit(1);
          },
        );
        return;
      }
      logger.warn({ signal }, 'second signal: exiting now; unfinished jobs resume at the next start');
      process.stderr.write(`storaged: second ${signal}: exiting now; unfinished jobs resume at the next start\n`);
      process.exit(1);
    });
  });
}

