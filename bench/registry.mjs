// Shared by the benchmarks: the real docker-registry on a free 127.0.0.1 port, its data under
// `dir`; resolves to { host, stop } (stop kills its process group).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startRegistry(dir) {
  const host = `127.0.0.1:${await freePort()}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: ${dir}/data}}\nhttp: {addr: "${host}"}\n`,
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: 'ignore',
    detached: true,
  });
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  };
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) return { host, stop };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error('docker-registry did not start');
}
