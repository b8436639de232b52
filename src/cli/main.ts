#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerDisksCommand } from './commands/disks.js';
import { registerFileCommands } from './commands/files.js';
import { registerLsCommand } from './commands/ls.js';
import { registerMountCommands } from './commands/mount.js';
import { registerRefreshCommand } from './commands/refresh.js';
import { registerSearchCommand } from './commands/search.js';
import { registerStatusCommands } from './commands/status.js';
import { registerSyncCommand } from './commands/sync.js';
import { registerStorageTestCommand } from './commands/storage-test.js';
import { registerWatchCommand } from './commands/watch.js';
import { CliContext, type GlobalOptions } from './context.js';
import { printError } from './errors.js';

/** Exit code for a command that failed (bad config, a failing backend...). */
const EXIT_FAILURE = 1;
/** Exit code for a command line commander could not parse. */
const EXIT_USAGE = 2;

/** The package version (package.json sits two folders up from src/cli and dist/cli alike). */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** Builds the `storaged` program with every command; `ctx` gives commands config and drivers. */
function buildProgram(ctx: CliContext): Command {
  const program = new Command('storaged')
    .description('mount cloud and remote storage as ordinary files; inspect and test the configured disks')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('-c, --config <file>', 'config file (default: ./config.yaml, then $STORAGED_CONFIG, then the built-in default)')
    .configureOutput({ outputError: (text, write) => write(`storaged: ${text.replace(/^error: /, '')}`) })
    .exitOverride();
  registerDisksCommand(program, ctx);
  registerStorageTestCommand(program, ctx);
  registerLsCommand(program, ctx);
  registerFileCommands(program, ctx);
  registerMountCommands(program, ctx);
  registerStatusCommands(program, ctx);
  registerRefreshCommand(program, ctx);
  registerSearchCommand(program, ctx);
  registerSyncCommand(program, ctx);
  registerWatchCommand(program, ctx);
  return program;
}

/** Runs the CLI on `argv` and resolves to the exit code. Prints errors itself, without stack traces. */
async function main(argv: string[] = process.argv): Promise<number> {
  let program: Command | undefined;
  const ctx = new CliContext(() => program?.opts<GlobalOptions>() ?? {});
  program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    printError(err);
    return EXIT_FAILURE;
  } finally {
    await ctx.close();
  }
}

/**
 * Last-resort handlers: a failure outside any command's await (a stream error
 * nobody listened to) still prints one `storaged:` line, never a stack trace;
 * a reader that closed our stdout (`storaged ls | head`) ends the run quietly.
 */
function installProcessGuards(): void {
  const fatal = (err: unknown) => {
    printError(err);
    process.exit(EXIT_FAILURE);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    fatal(err);
  });
}

installProcessGuards();
// storaged supports Node 20 on purpose; the AWS SDK's end-of-support notice would only add noise to every s3 command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.exitCode = await main();
// Everything is done and flushed; a driver that failed to release a socket must not keep the process alive.
setTimeout(() => process.exit(), 5000).unref();
