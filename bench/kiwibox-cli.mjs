// Shared by the benchmarks: one kiwibox command line through bin/ (dist/, so `npm run build`
// first), resolving to its output, rejecting with the output's tail when it does not exit 0.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/kiwibox.js', import.meta.url));

export function runKiwibox({ cwd, args, env = process.env }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`kiwibox ${args.join(' ')}: exit ${code}\n${out.slice(-3000)}`)),
    );
  });
}
