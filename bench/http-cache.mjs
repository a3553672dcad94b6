// bench/http-cache: moving one big blob through the HTTP team cache store (nginx WebDAV on
// 127.0.0.1) against curl moving the same blob to and from the same server, in the same run.
// kiwibox also hashes and verifies while it streams, which curl does not.
// Goals: PUT >= 0.8x curl's throughput; GET with its digest check >= 1.0x curl + sha256sum (the
// same work done in two passes); memory that does not grow with the blob (streamed both ways).
// Usage: node bench/http-cache.mjs [--mb 256] [--runs 3]
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createHttpStore } from '../dist/cache/http-store.js';
import { freeLocalPort } from '../dist/core/net.js';

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' } },
});
const mb = Number(values.mb);
const runs = Number(values.runs);
const dir = mkdtempSync(join(tmpdir(), 'kiwibox-bench-http-'));
chmodSync(dir, 0o755);
const root = join(dir, 'root');
mkdirSync(root);
mkdirSync(join(dir, 'temp'));
// nginx's workers run as nobody when started as root.
if (process.getuid?.() === 0) for (const d of [root, join(dir, 'temp')]) chownSync(d, 65534, 65534);
const port = await freeLocalPort();
writeFileSync(
  join(dir, 'nginx.conf'),
  `worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/temp/body;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location ~ "^/(ac|cas)/[0-9a-f]{64}$" { dav_methods PUT; create_full_put_path on; client_max_body_size 0; }
  }
}
`,
);
const nginx = spawn(
  'nginx',
  ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'],
  { detached: true, stdio: 'ignore' },
);
const stop = () => {
  try {
    process.kill(-nginx.pid, 'SIGTERM');
  } catch {}
};
process.once('exit', () => {
  stop();
  rmSync(dir, { recursive: true, force: true });
});
const up = () =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
for (let i = 0; i < 100 && !(await up()); i++) await sleep(50);

const file = join(dir, 'blob');
const chunk = Buffer.alloc(16 << 20);
const hash = createHash('sha256');
writeFileSync(file, '');
for (let i = 0; i < mb / 16; i++) {
  randomFillSync(chunk);
  hash.update(chunk);
  writeFileSync(file, chunk, { flag: 'a' });
}
const blob = {
  digest: `sha256:${hash.digest('hex')}`,
  size: mb << 20,
  mediaType: 'application/octet-stream',
};
const url = `http://127.0.0.1:${port}/cas/${blob.digest.slice(7)}`;
for await (const _ of createReadStream(file)); // warm the page cache

const store = createHttpStore({ url: `http://127.0.0.1:${port}` }).value;
const signal = new AbortController().signal;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const before = process.memoryUsage().rss;
const curl = (args) => {
  const r = spawnSync('curl', ['-sS', '--fail', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`curl ${args.join(' ')} failed`);
};
const result = { curlPut: [], kbPut: [], curlGet: [], curlGetSum: [], kbGet: [] };
for (let i = 0; i < runs; i++) {
  result.curlPut.push(await time(async () => curl(['-T', file, url])));
  result.kbPut.push(
    await time(async () => {
      const r = await store.pushBlob({ blob, file, signal });
      if (!r.ok) throw new Error(JSON.stringify(r.error));
    }),
  );
  result.curlGet.push(await time(async () => curl(['-o', join(dir, 'curl-out'), url])));
  // The same work as kiwibox's: download, then check the digest.
  result.curlGetSum.push(
    await time(async () => {
      curl(['-o', join(dir, 'curl-out'), url]);
      spawnSync('sha256sum', [join(dir, 'curl-out')], { stdio: 'ignore' });
    }),
  );
  result.kbGet.push(
    await time(async () => {
      const r = await store.fetchBlob({ blob, file: join(dir, 'kb-out'), signal });
      if (!r.ok) throw new Error(JSON.stringify(r.error));
    }),
  );
}
clearInterval(sampler);
await store.close();
const rate = (ms) => `${((mb / ms) * 1000).toFixed(0)} MB/s`;
const [cp, kp, cg, cgs, kg] = [
  result.curlPut,
  result.kbPut,
  result.curlGet,
  result.curlGetSum,
  result.kbGet,
].map(median);
console.log(`blob ${mb} MB, median of ${runs}`);
console.log(`PUT  curl ${rate(cp)}  kiwibox ${rate(kp)}  ratio ${(cp / kp).toFixed(2)}x (goal >= 0.8x)`);
console.log(
  `GET  curl ${rate(cg)}  kiwibox ${rate(kg)} (hash + verify + rename)  ratio ${(cg / kg).toFixed(2)}x`,
);
console.log(
  `GET+verify  curl + sha256sum ${rate(cgs)}  kiwibox ${rate(kg)}  ratio ${(cgs / kg).toFixed(2)}x (goal >= 1.0x: verifying while streaming)`,
);
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
console.log(`memory: peak rss ${mib(peakRss)} (${mib(before)} before) while moving ${mb} MB blobs`);
stop();
