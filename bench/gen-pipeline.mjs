// Generates the benchmark pipelines shared by bench/noop and bench/watch: N tasks over the same
// small input files, written as one kiwibox.yaml and an equivalent build.ninja (explicit file deps).
//
// Shapes (one project dir each; the files are hard links to one set, so every shape reads the same
// inodes and generating a shape costs a link per file, not a write):
//   star    src/T/*.txt            one flat directory per task (the single-directory fast path)
//   dstar   src/T/**               the same directories, as a new user would write it
//   nested  tree/T/**/*.txt, !tree/T/**/skip/**
//                                  per task a 3-level tree; a tenth of the files sit under skip/
//   shared  src/**                 a few tasks each over the whole tree (every file of every task)
import { existsSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SHAPES = ['star', 'dstar', 'nested', 'shared'];
/** How many tasks share the whole tree in the `shared` shape. */
export const SHARED_TASKS = 4;

/** The original files: `files-TASKSxFILES/T/fK.txt`. */
function originals(root, tasks, perTask) {
  const dir = join(root, `files-${tasks}x${perTask}`);
  const done = join(dir, '.complete');
  if (existsSync(done)) return dir;
  for (let t = 0; t < tasks; t++) {
    mkdirSync(join(dir, String(t)), { recursive: true });
    for (let f = 0; f < perTask; f++) writeFileSync(join(dir, String(t), `f${f}.txt`), `${t}/${f}\n`);
  }
  writeFileSync(done, '');
  return dir;
}

/** Where file K of task T lives in a shape, relative to the project dir (undefined: nowhere). */
function placeOf(shape, t, f) {
  if (shape !== 'nested') return `src/${t}/f${f}.txt`;
  // 100 files -> 10 leaf dirs a0..a4/b0..b1 of 9, and skip/ (excluded) with every tenth file.
  if (f % 10 === 9) return `tree/${t}/a${f % 5}/skip/f${f}.txt`;
  return `tree/${t}/a${f % 5}/b${f % 2}/f${f}.txt`;
}

const excluded = (rel) => rel.includes('/skip/');

function taskYaml(name, inputs) {
  return [
    `  ${name}:`,
    `    run: [touch, out/${name}.stamp]`,
    `    inputs: [${inputs.map((i) => JSON.stringify(i)).join(', ')}]`,
    `    outputs: [out/${name}.stamp]`,
  ];
}

/** One shape's project in `dir` (skipped when already there). */
export function generateShape({ root, shape, tasks, perTask }) {
  const dir = join(root, `${shape}-${tasks}x${perTask}`);
  if (existsSync(join(dir, 'kiwibox.yaml'))) return dir;
  const from = originals(root, tasks, perTask);
  const yaml = ['version: 1', 'tasks:'];
  const ninja = ['rule touch', '  command = touch $out', ''];
  const all = [];
  for (let t = 0; t < tasks; t++) {
    const deps = [];
    for (let f = 0; f < perTask; f++) {
      const rel = placeOf(shape, t, f);
      const path = join(dir, rel);
      mkdirSync(join(path, '..'), { recursive: true });
      linkSync(join(from, String(t), `f${f}.txt`), path);
      if (!excluded(rel)) deps.push(rel);
    }
    all.push(...deps);
    if (shape === 'shared') continue;
    const glob = {
      star: [`src/${t}/*.txt`],
      dstar: [`src/${t}/**`],
      nested: [`tree/${t}/**/*.txt`, `!tree/${t}/**/skip/**`],
    }[shape];
    yaml.push(...taskYaml(`t${t}`, glob));
    ninja.push(`build out/t${t}.stamp: touch ${deps.join(' ')}`);
  }
  if (shape === 'shared') {
    // One phony node for the tree: ninja stats each file once however many edges use it.
    ninja.push(`build tree: phony ${all.join(' ')}`);
    for (let s = 0; s < SHARED_TASKS; s++) {
      yaml.push(...taskYaml(`s${s}`, ['src/**']));
      ninja.push(`build out/s${s}.stamp: touch tree`);
    }
  }
  mkdirSync(join(dir, 'out'), { recursive: true });
  writeFileSync(join(dir, 'build.ninja'), `${ninja.join('\n')}\n`);
  // Written last: its presence marks a complete project.
  writeFileSync(join(dir, 'kiwibox.yaml'), `${yaml.join('\n')}\n`);
  return dir;
}

/** bench/watch's pipeline: the `star` shape in `dir`. */
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
    yaml.push(...taskYaml(`t${t}`, [`src/${t}/*.txt`]));
    ninja.push(`build out/t${t}.stamp: touch ${inputs.join(' ')}`);
  }
  mkdirSync(join(dir, 'out'), { recursive: true });
  writeFileSync(join(dir, 'kiwibox.yaml'), `${yaml.join('\n')}\n`);
  writeFileSync(join(dir, 'build.ninja'), `${ninja.join('\n')}\n`);
}
