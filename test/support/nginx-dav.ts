/**
 * A real nginx serving a Bazel-style HTTP cache (`/ac/`, `/cas/`) over WebDAV PUT on a free 127.0.0.1
 * port: its own prefix, config, root and logs in a temp dir (nothing under /etc or /run is touched),
 * GET and HEAD open to all, writes behind basic auth, optionally TLS with a CA made here (openssl).
 * Stopped by its PID (the process group) at the end.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeLocalPort } from '../../src/core/net.js';
import { guardDaemon } from './daemon.mjs';

export interface NginxDav {
  /** `http://127.0.0.1:PORT` or `https://…` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** The document root: `<root>/<prefix>/cas/<hex>` is the file behind a URL. */
  readonly root: string;
  /** The user and password writes need. */
  readonly user: string;
  readonly password: string;
  /** TLS mode: the CA that signed the server's certificate (PEM file). */
  readonly caFile?: string;
  /** Stops nginx (SIGTERM to its group, SIGKILL after 5 s); the temp dir stays until `remove`. */
  stop(): Promise<void>;
  /** Stops nginx and removes its temp dir. */
  remove(): Promise<void>;
}

const NOBODY = 65534;

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A CA and a server certificate for 127.0.0.1 signed by it, valid for a day. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const path = (name: string) => join(dir, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    ['req', '-x509', ...ec, '-keyout', path('ca.key'), '-out', path('ca.crt')].concat([
      '-subj',
      '/CN=kiwibox test CA',
      '-days',
      '1',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ]),
  );
  openssl([
    'req',
    '-new',
    ...ec,
    '-keyout',
    path('server.key'),
    '-out',
    path('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ]);
  writeFileSync(path('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    ['x509', '-req', '-in', path('server.csr'), '-CA', path('ca.crt'), '-CAkey', path('ca.key')].concat([
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      path('ext.cnf'),
      '-out',
      path('server.crt'),
    ]),
  );
  return { ca: path('ca.crt'), cert: path('server.crt'), key: path('server.key') };
}

function config(options: { dir: string; port: number; tls?: { cert: string; key: string } }): string {
  const { dir, port, tls } = options;
  const temp = (name: string) => join(dir, 'temp', name);
  return `worker_processes 1;
error_log ${join(dir, 'error.log')} warn;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 64; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  server {
    listen 127.0.0.1:${port}${tls ? ' ssl' : ''};
    ${tls ? `ssl_certificate ${tls.cert};\n    ssl_certificate_key ${tls.key};` : ''}
    root ${join(dir, 'root')};
    location ~ "^/([A-Za-z0-9._-]+/)*(ac|cas)/[0-9a-f]{64}$" {
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      client_max_body_size 0;
      limit_except GET HEAD {
        auth_basic "kiwibox cache";
        auth_basic_user_file ${join(dir, 'htpasswd')};
      }
    }
    location / { return 403; }
  }
}
`;
}

export async function startNginxDav(options: { tls?: boolean } = {}): Promise<NginxDav> {
  const dir = await mkdtemp(join(tmpdir(), 'kiwibox-nginx-'));
  // The workers run as nobody when nginx starts as root: they must reach the root and temp dirs.
  await chmod(dir, 0o755);
  const root = join(dir, 'root');
  await mkdir(root);
  await mkdir(join(dir, 'temp'));
  if (process.getuid?.() === 0) {
    await chown(root, NOBODY, NOBODY);
    await chown(join(dir, 'temp'), NOBODY, NOBODY);
  }
  const user = 'kiwibox';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const hash = execFileSync('openssl', ['passwd', '-apr1', password], { encoding: 'utf8' }).trim();
  await writeFile(join(dir, 'htpasswd'), `${user}:${hash}\n`, { mode: 0o644 });
  const certs = options.tls ? makeCertificates(dir) : undefined;
  const port = await freeLocalPort();
  await writeFile(join(dir, 'nginx.conf'), config({ dir, port, ...(certs ? { tls: certs } : {}) }));
  const log = join(dir, 'error.log');
  const child = spawn(
    'nginx',
    ['-p', dir, '-e', log, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; master_process on;'],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const guard = guardDaemon(child);
  const stop = () => guard.stop();
  const remove = async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100 && !guard.exited(); i++) {
    if (await listening(port)) {
      const url = `${certs ? 'https' : 'http'}://127.0.0.1:${port}`;
      return { url, port, root, user, password, ...(certs ? { caFile: certs.ca } : {}), stop, remove };
    }
    await sleep(50);
  }
  const errors = await readFile(log, 'utf8').catch(() => '');
  await remove();
  throw new Error(`nginx did not come up on 127.0.0.1:${port}: ${stderr}${errors}`);
}
