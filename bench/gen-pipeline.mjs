// Generates the benchmark pipeline shared by bench/noop and bench/watch: N tasks, each over its own
// directory of M small input files, plus an equivalent build.ninja.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function generatePipeline({ dir, tasks, perTask }) {
  if (existsSync(join(dir, 'kiwibox.yaml'))) return;
  const yaml = ['version: 1', 'tasks:'];
  const ninja = ['rule touch', '  command = touch $out', ''];
  for (let t = 0; t < tasks; t++) {
    const src = join(dir, 'src', String(t));
    mkdirSync(src, { recursive: true });
    const inputs = [];
    for (let f = 0; f < perTask; f++) {
      writeFileSync(join(src, `f${f}.txt`), `${t}/${f}\n`);
      inputs.push(`src/${t}/f${f}.txt`);
    }
    yaml.push(
      `  t${t}:`,
      `    run: [touch, out/t${t}.stamp]`,
      `    inputs: ["src/${t}/*.txt"]`,
      `    outputs: [out/t${t}.stamp]`,
    );
    ninja.push(`build out/t${t}.stamp: touch ${inputs.join(' ')}`);
  }
  mkdirSync(join(dir, 'out'), { recursive: true });
  writeFileSync(join(dir, 'kiwibox.yaml'), `${yaml.join('\n')}\n`);
  writeFileSync(join(dir, 'build.ninja'), `${ninja.join('\n')}\n`);
}
