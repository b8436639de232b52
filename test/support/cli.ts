import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root. */
export const repoRoot = resolve(import.meta.dirname, '../..');

/** What one CLI run gave. */
export interface CliRun {
  code: number | null;
  stdout: string;
  /** stdout as raw bytes (binary output of cat). */
  bytes: Buffer;
  stderr: string;
}

/** Runs the compiled CLI; `cwd` defaults to the folder it was built in. */
export type CliRunner = (
  args: string[],
  options?: { stdin?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string },
) => Promise<CliRun>;

/**
 * The CLI as users run it: compiles src/ with tsconfig.build.json into
 * `folder`/build (package.json copied beside it, node_modules linked), so
 * tests neither touch dist/ nor pay tsx's start-up cost per run, and returns
 * a runner that spawns it as a child process in `folder`. Type errors
 * elsewhere do not stop the emit; a missing main.js does.
 */
export async function buildCli(folder: string): Promise<CliRunner> {
  const build = join(folder, 'build');
  const mainJs = join(build, 'dist/cli/main.js');
  mkdirSync(build);
  copyFileSync(join(repoRoot, 'package.json'), join(build, 'package.json'));
  symlinkSync(join(repoRoot, 'node_modules'), join(build, 'node_modules'));
  const tsc = join(repoRoot, 'node_modules/.bin/tsc');
  const args = ['-p', 'tsconfig.build.json', '--outDir', join(build, 'dist'), '--declaration', 'false', '--sourceMap', 'false'];
  const output = await new Promise<string>((done) => {
    execFile(tsc, args, { cwd: repoRoot }, (_err, stdout, stderr) => done(stdout + stderr));
  });
  if (!existsSync(mainJs)) throw new Error(`tsc did not emit ${mainJs}:\n${output}`);
  return (cliArgs, options = {}) =>
    new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [mainJs, ...cliArgs], {
        cwd: options.cwd ?? folder,
        env: { ...process.env, STORAGED_DEBUG: '', STORAGED_CONFIG: '', ...options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const bytes = Buffer.concat(out);
        resolvePromise({ code, stdout: bytes.toString(), bytes, stderr });
      });
      child.stdin.end(options.stdin ?? '');
    });
}

/** No stack trace: no "    at " frames and no "Error:" class prefixes. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at /m.test(text) || /\b\w*Error: /.test(text);
}
