import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServer, type ServerProcess } from '../process.js';

const VSFTPD = '/usr/sbin/vsftpd';

/** FTPS settings for a vsftpd started with TLS. */
export interface VsftpdTlsOptions {
  /** PEM certificate and private key (one file each). */
  certFile: string;
  keyFile: string;
  /** true: implicit TLS on the listen port; false: explicit AUTH TLS. */
  implicit?: boolean;
}

/** A real vsftpd on 127.0.0.1 with anonymous write access under `writableRoot`. */
export interface VsftpdServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Folder on the server where anonymous users may write ('/upload'). */
  readonly writableRoot: string;
  /** Local folder served as the FTP root (anon_root). */
  readonly anonRoot: string;
  /** Pid of the listening process (undefined while stopped). */
  readonly pid: number | undefined;
  /** Kills the listener and every session process it forked; data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data folder (after stop). */
  start(): Promise<void>;
  /** stop() and remove the data folder. */
  destroy(): Promise<void>;
}

/**
 * Starts vsftpd as BACKENDS.md describes: anonymous login without password,
 * anon_root owned by root with mode 555 and a folder `upload` inside owned
 * by the `ftp` user, a free listen port, passive ports in a small free range
 * picked at random (parallel test files do not collide), run as root with
 * background=NO, seccomp off, MDTM writes and UTF-8 names on. Needs root and
 * Debian's vsftpd package (which creates the `ftp` user).
 */
export async function startVsftpd(options: { tls?: VsftpdTlsOptions } = {}): Promise<VsftpdServer> {
  const ftpUser = checkPrerequisites();
  const base = await mkdtemp(join(tmpdir(), 'storaged-vsftpd-'));
  await chmod(base, 0o755);
  const anonRoot = join(base, 'anon');
  const upload = join(anonRoot, 'upload');
  const empty = join(base, 'empty');
  await mkdir(upload, { recursive: true });
  await mkdir(empty);
  await chown(upload, ftpUser.uid, ftpUser.gid);
  await chmod(upload, 0o755);
  await chmod(anonRoot, 0o555);
  const port = await freePort();
  const passive = await freePortRange(40);
  const configFile = join(base, 'vsftpd.conf');
  await writeFile(configFile, renderConfig({ anonRoot, empty, port, passive, tls: options.tls }));

  let listener: ServerProcess | undefined;
  const server: VsftpdServer = {
    host: '127.0.0.1',
    port,
    writableRoot: '/upload',
    anonRoot,
    get pid() {
      return listener?.pid;
    },
    async start() {
      if (listener) return;
      listener = await startServer(VSFTPD, [configFile], { port, timeoutMs: 15_000 });
    },
    async stop() {
      const running = listener;
      listener = undefined;
      if (running) await killTree(running);
    },
    async destroy() {
      await server.stop();
      await chmod(anonRoot, 0o755).catch(() => undefined);
      await rm(base, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (err) {
    await rm(base, { recursive: true, force: true });
    throw err;
  }
  return server;
}

/** The `ftp` user's ids; throws a message saying what to install when something is missing. */
function checkPrerequisites(): { uid: number; gid: number } {
  if (!existsSync(VSFTPD)) {
    throw new Error(`${VSFTPD} is missing: install Debian's vsftpd package (apt-get install vsftpd)`);
  }
  if (process.getuid?.() !== 0) throw new Error('vsftpd tests must run as root (vsftpd chroots and drops privileges)');
  try {
    const uid = Number(execFileSync('id', ['-u', 'ftp'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'ftp'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      "the system user 'ftp' does not exist: Debian's vsftpd package creates it on install; " +
        'reinstall vsftpd or create it with `useradd --system --home /srv/ftp --shell /usr/sbin/nologin ftp`',
    );
  }
}

function renderConfig(o: { anonRoot: string; empty: string; port: number; passive: [number, number]; tls?: VsftpdTlsOptions }): string {
  const lines = [
    'listen=YES',
    'listen_ipv6=NO',
    'listen_address=127.0.0.1',
    `listen_port=${o.port}`,
    'background=NO',
    'run_as_launching_user=NO',
    'seccomp_sandbox=NO',
    `secure_chroot_dir=${o.empty}`,
    'anonymous_enable=YES',
    'local_enable=NO',
    'no_anon_password=YES',
    'ftp_username=ftp',
    `anon_root=${o.anonRoot}`,
    'write_enable=YES',
    'anon_upload_enable=YES',
    'anon_mkdir_write_enable=YES',
    'anon_other_write_enable=YES',
    'anon_umask=022',
    'anon_world_readable_only=NO',
    'mdtm_write=YES',
    'utf8_filesystem=YES',
    'force_dot_files=YES',
    'use_localtime=NO',
    'pasv_enable=YES',
    `pasv_min_port=${o.passive[0]}`,
    `pasv_max_port=${o.passive[1]}`,
    'pasv_address=127.0.0.1',
    'pasv_addr_resolve=NO',
    'connect_from_port_20=NO',
    'max_clients=0',
    'max_per_ip=0',
    'idle_session_timeout=600',
    'data_connection_timeout=120',
    'xferlog_enable=NO',
    'syslog_enable=NO',
    'dirmessage_enable=NO',
    'check_shell=NO',
    'ftpd_banner=storaged test vsftpd',
  ];
  if (o.tls) {
    lines.push(
      'ssl_enable=YES',
      'allow_anon_ssl=YES',
      'force_anon_logins_ssl=YES',
      'force_anon_data_ssl=YES',
      `implicit_ssl=${o.tls.implicit ? 'YES' : 'NO'}`,
      `rsa_cert_file=${o.tls.certFile}`,
      `rsa_private_key_file=${o.tls.keyFile}`,
      'require_ssl_reuse=NO',
      'ssl_ciphers=HIGH',
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * A block of `count` consecutive ports, all bindable now, from a random base
 * below the kernel's ephemeral range (so client sockets do not take them).
 */
async function freePortRange(count: number): Promise<[number, number]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * (12_000 - count));
    const ports = Array.from({ length: count }, (_, i) => first + i);
    const free = await Promise.all(ports.map(canBind));
    if (free.every(Boolean)) return [first, first + count - 1];
  }
  throw new Error(`no block of ${count} free ports found for vsftpd's passive mode`);
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Stops vsftpd and the session processes it forked. Sessions call setsid and
 * outlive the listener, so they are found through /proc as descendants of
 * our pid (frozen first with SIGSTOP so it forks no new one) and killed by
 * pid. Nothing else is touched.
 */
async function killTree(server: ServerProcess): Promise<void> {
  const pid = server.pid;
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  try {
    process.kill(pid, 'SIGSTOP');
  } catch {
    return;
  }
  await waitUntilStopped(pid);
  const descendants = await descendantsOf(pid);
  process.kill(pid, 'SIGKILL');
  for (const child of descendants) {
    try {
      process.kill(child, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await server.stop(1000);
}

async function waitUntilStopped(pid: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === '' || state === 'T' || state === 'Z') return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Pids whose parent chain leads to `root`. */
async function descendantsOf(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[1]) parents.set(Number(name), Number(fields[1]));
  }
  const found: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const parent = frontier.pop() as number;
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}
