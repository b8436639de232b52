#!/usr/bin/env node
/**
 * Builds fuse-native from source with native/fuse-native.patch applied (run
 * by `npm ci` as the package's postinstall; safe to run again by hand).
 *
 *   node native/build-fuse-native.mjs [path/to/node_modules/fuse-native]
 *
 * 1. Patches fuse-native.c and index.js unless they already carry this
 *    patch's version (marker: `storaged_patch = N` in fuse-native.c). A
 *    copy patched with another version is restored from the `.orig` backups
 *    made by the first patching, then patched again.
 * 2. Runs `node-gyp rebuild` in the fuse-native folder when
 *    build/Release/fuse.node is missing or older than the patched source.
 *    node-gyp-build (which fuse-native loads through) prefers build/Release
 *    over the bundled prebuilds; step 3 checks that it does.
 * 3. Checks that node-gyp-build resolves build/Release/fuse.node and that it
 *    exports `storaged_patch` with the expected version.
 *
 * Any failure exits 1 with one clear `storaged: ...` line on stderr.
 * Headers and libfuse come from fuse-shared-library-linux; the build needs
 * python3, make and a C compiler. Node headers come from the local Node
 * installation (<prefix>/include/node) when they match the running Node,
 * else node-gyp downloads them.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const FUSE_NATIVE_VERSION = '2.2.6';
const PATCHED_FILES = ['fuse-native.c', 'index.js'];
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const patchFile = join(here, 'fuse-native.patch');

class BuildError extends Error {}

function main() {
  const started = Date.now();
  const dir = process.argv[2] ? resolve(process.argv[2]) : fuseNativeDir();
  const patchText = readFileSync(patchFile, 'utf8');
  const wanted = patchVersionIn(patchText, /^\+static const uint32_t storaged_patch = (\d+);$/m);
  if (wanted === undefined) throw new BuildError(`${patchFile} has no 'storaged_patch = N' version line`);

  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  if (version !== FUSE_NATIVE_VERSION) {
    throw new BuildError(`fuse-native ${version} is installed, but native/fuse-native.patch is for ${FUSE_NATIVE_VERSION}`);
  }

  const patched = ensurePatched(dir, patchText, wanted);
  const built = ensureBuilt(dir);
  verify(dir, wanted);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const did = [patched && 'patched', built && 'built'].filter(Boolean).join(' and ') || 'already patched and built';
  console.log(`storaged: fuse-native ${did} (patch v${wanted}, build/Release/fuse.node) in ${seconds} s`);
}

/** node_modules/fuse-native as the repository resolves it. */
function fuseNativeDir() {
  const require = createRequire(join(repoRoot, 'package.json'));
  try {
    return dirname(require.resolve('fuse-native/package.json'));
  } catch {
    throw new BuildError('fuse-native is not installed (run npm ci)');
  }
}

/** The `storaged_patch = N` version found by `pattern` in `text`, or undefined. */
function patchVersionIn(text, pattern) {
  const match = pattern.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Applies the patch unless this version is in place already; true when it patched. */
function ensurePatched(dir, patchText, wanted) {
  const source = readFileSync(join(dir, 'fuse-native.c'), 'utf8');
  const index = readFileSync(join(dir, 'index.js'), 'utf8');
  const have = patchVersionIn(source, /^static const uint32_t storaged_patch = (\d+);$/m);
  const indexMarked = index.includes('storaged patch');
  if (have === wanted && indexMarked) return false;
  if (have !== undefined || indexMarked) restoreOriginals(dir, have);

  const tool = findPatchTool();
  if (tool) {
    // Dry run first, so a patch that does not apply leaves the files untouched.
    runPatchTool(tool, dir, ['--dry-run']);
    runPatchTool(tool, dir, ['--backup']);
  } else {
    applyPatchInJs(dir, patchText);
  }
  return true;
}

/** Puts back the files saved before an earlier (other or partial) patching. */
function restoreOriginals(dir, have) {
  const missing = PATCHED_FILES.filter((name) => !existsSync(join(dir, `${name}.orig`)));
  if (missing.length > 0) {
    const what = have === undefined ? 'is partly patched' : `carries patch v${have}`;
    throw new BuildError(`${dir} ${what} and has no .orig backups to restore: reinstall it (rm -rf node_modules && npm ci)`);
  }
  for (const name of PATCHED_FILES) copyFileSync(join(dir, `${name}.orig`), join(dir, name));
}

/** Debian's `patch`, or undefined when it is not installed. */
function findPatchTool() {
  const found = spawnSync('patch', ['--version'], { stdio: 'ignore' });
  return found.error || found.status !== 0 ? undefined : 'patch';
}

function runPatchTool(tool, dir, extra) {
  const args = ['-p1', '--forward', '--batch', '--fuzz=0', ...extra, '-d', dir, '-i', patchFile];
  const run = spawnSync(tool, args, { encoding: 'utf8' });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    throw new BuildError(`native/fuse-native.patch does not apply to ${dir} (patch exit ${run.status ?? run.signal})`);
  }
}

/**
 * The same as `patch -p1 --fuzz=0 --backup` for this patch's plain unified
 * diff: every hunk must match its context exactly (searched outward from
 * its line number); nothing is written unless every hunk of every file applies.
 */
function applyPatchInJs(dir, patchText) {
  const results = parseUnifiedDiff(patchText).map(({ name, hunks }) => {
    const path = join(dir, name);
    const lines = readFileSync(path, 'utf8').split('\n');
    // Last hunk first: earlier line numbers stay valid.
    for (const hunk of [...hunks].reverse()) {
      const before = hunk.lines.filter((l) => l[0] !== '+').map((l) => l.slice(1));
      const after = hunk.lines.filter((l) => l[0] !== '-').map((l) => l.slice(1));
      const at = findBlock(lines, before, hunk.oldStart - 1);
      if (at < 0) throw new BuildError(`native/fuse-native.patch: hunk at line ${hunk.oldStart} of ${name} does not apply to ${dir}`);
      lines.splice(at, before.length, ...after);
    }
    return { path, text: lines.join('\n') };
  });
  for (const { path, text } of results) {
    copyFileSync(path, `${path}.orig`);
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
}

/** Files and hunks of a unified diff (`--- a/x`, `+++ b/x`, `@@ -l,n +l,n @@`). */
function parseUnifiedDiff(text) {
  const files = [];
  let hunk;
  for (const line of text.split('\n')) {
    if (line.startsWith('+++ ')) {
      files.push({ name: line.slice(4).split('\t')[0].replace(/^b\//, ''), hunks: [] });
      hunk = undefined;
    } else if (line.startsWith('--- ')) {
      hunk = undefined;
    } else if (line.startsWith('@@ ')) {
      const match = /^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@/.exec(line);
      if (!match || files.length === 0) throw new BuildError(`native/fuse-native.patch: bad hunk header '${line}'`);
      hunk = { oldStart: Number(match[1]), lines: [] };
      files.at(-1).hunks.push(hunk);
    } else if (hunk && (line[0] === ' ' || line[0] === '+' || line[0] === '-')) {
      hunk.lines.push(line);
    }
  }
  return files;
}

/** Index where `block` occurs in `lines`, nearest to `near` first; -1 when nowhere. */
function findBlock(lines, block, near) {
  const matches = (at) => block.every((line, i) => lines[at + i] === line);
  for (let distance = 0; distance < lines.length; distance++) {
    for (const at of [near - distance, near + distance]) {
      if (at >= 0 && at + block.length <= lines.length && matches(at)) return at;
    }
  }
  return -1;
}

/** Runs node-gyp rebuild unless build/Release/fuse.node is newer than the patched source; true when it built. */
function ensureBuilt(dir) {
  const binary = join(dir, 'build/Release/fuse.node');
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(join(dir, 'fuse-native.c')).mtimeMs) return false;
  const args = [nodeGyp(), 'rebuild', '--loglevel=warn', ...nodeDirArgs()];
  const run = spawnSync(process.execPath, args, { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0 || !existsSync(binary)) {
    throw new BuildError(
      `node-gyp rebuild of the patched fuse-native failed in ${dir} (exit ${run.status ?? run.signal}); ` +
        'it needs python3, make and gcc/g++ (see the output above)',
    );
  }
  return true;
}

/** node-gyp's entry script: the one npm hands lifecycle scripts, else a project copy, else npm's own. */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(createRequire(join(repoRoot, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not in the project's dependency tree
  }
  candidates.push(join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) throw new BuildError('node-gyp not found (it comes with npm; is npm installed?)');
  return found;
}

/** `--nodedir=<prefix>` when the Node installation carries headers of the running version (no download). */
function nodeDirArgs() {
  const prefix = resolve(dirname(process.execPath), '..');
  const header = join(prefix, 'include/node/node_version.h');
  if (!existsSync(header)) return [];
  const text = readFileSync(header, 'utf8');
  const part = (name) => new RegExp(`^#define NODE_${name}_VERSION (\\d+)$`, 'm').exec(text)?.[1];
  const local = `v${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  return local === process.version ? [`--nodedir=${prefix}`] : [];
}

/** Checks that fuse-native will load the patched build. */
function verify(dir, wanted) {
  const expected = join(dir, 'build/Release/fuse.node');
  const nodeGypBuild = createRequire(join(dir, 'package.json'))('node-gyp-build');
  const chosen = nodeGypBuild.path(dir);
  if (resolve(chosen) !== expected) {
    throw new BuildError(`fuse-native would load ${chosen}, not the patched ${expected} (is PREBUILDS_ONLY set?)`);
  }
  let binding;
  try {
    binding = createRequire(import.meta.url)(expected);
  } catch (err) {
    // Built fine, but this machine cannot load it (usually libfuse2 missing): the mount reports it when used.
    console.warn(`storaged: warning: built ${expected}, but cannot load it here: ${err.message}`);
    return;
  }
  if (binding.storaged_patch !== wanted) {
    throw new BuildError(`${expected} reports patch v${binding.storaged_patch}, expected v${wanted}`);
  }
}

try {
  main();
} catch (err) {
  if (!(err instanceof BuildError)) throw err;
  console.error(`storaged: ${err.message}`);
  process.exit(1);
}
