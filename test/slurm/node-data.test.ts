/**
 * What travels to and from a node without a shared filesystem: the request in srun's argv (refused
 * when too long for it), the result as a marked stdout line (anything else is not a result), and
 * srun's --chdir at the node's working copy.
 */
import { describe, expect, it } from 'vitest';
import { analyse } from '../../src/config/analyse.js';
import {
  decodeRequest,
  encodeRequest,
  escapeMarks,
  KIWIBOX_VERSION,
  type NodeRequest,
  nodeVersionFailure,
  RESULT_MARK,
  resultOf,
} from '../../src/executors/slurm/node-data.js';
import { srunArgv } from '../../src/executors/slurm/srun-argv.js';

const request: NodeRequest = {
  v: 2,
  dir: '/node/copy',
  file: 'kiwibox.yaml',
  step: 'up',
  hash: 'a'.repeat(64),
  platform: 'linux-x64',
  tools: { 'kiwi-ng': 'KIWI (next generation) version 10.2.10' },
  upstream: { gen: 'b'.repeat(64) },
  kiwibox: KIWIBOX_VERSION,
};

describe('no-shared-filesystem job data', () => {
  it('round-trips a request, refuses one too long for argv and text that is not one', () => {
    const text = encodeRequest(request);
    expect(text.ok && decodeRequest(text.value)).toEqual({ ok: true, value: request });
    const many = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`step-${i}`, 'c'.repeat(64)]));
    const long = encodeRequest({ ...request, upstream: many });
    expect(long.ok).toBe(false);
    expect(!long.ok && long.error[0]?.message).toMatch(/too long for srun's command line/);
    expect(decodeRequest('{"v":1,"step":"up"}').ok).toBe(false);
    expect(decodeRequest('not json').ok).toBe(false);
  });

  it('refuses a request with a missing or mistyped field, naming it', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ dir: 'relative' }, /'dir' is not an absolute path/],
      [{ dir: undefined }, /'dir'/],
      [{ file: '../elsewhere/kiwibox.yaml' }, /'file' is not a path inside 'dir'/],
      [{ file: '/abs/kiwibox.yaml' }, /'file'/],
      [{ upstream: { gen: 7 } }, /'upstream' is not a map of strings/],
      [{ upstream: undefined }, /'upstream'/],
      [{ tools: ['x'] }, /'tools'/],
      [{ step: '' }, /'step'/],
      [{ kiwibox: undefined }, /'kiwibox'/],
    ];
    for (const [change, why] of bad) {
      const decoded = decodeRequest(JSON.stringify({ ...request, ...change }));
      expect(decoded.ok ? 'ok' : decoded.error[0]?.message, JSON.stringify(change)).toMatch(why);
    }
  });

  it("refuses a node whose kiwibox is another version than the submitter's", () => {
    expect(KIWIBOX_VERSION).toMatch(/^\d+\.\d+/);
    expect(nodeVersionFailure(request)).toBeUndefined();
    const other = nodeVersionFailure({ ...request, kiwibox: '0.0.1-elsewhere' });
    expect(other?.reason).toBe('slurm-node-version');
    expect(other?.message).toContain(
      `node is version ${KIWIBOX_VERSION}, on the submitting side 0.0.1-elsewhere`,
    );
  });

  it('counts the request in bytes, not characters', () => {
    // 40,000 three-byte characters: under the limit in characters, over it in bytes.
    const wide = encodeRequest({ ...request, tools: { t: '\u20ac'.repeat(40_000) } });
    expect(!wide.ok && wide.error[0]?.message).toMatch(/\(\d+ bytes\) is too long/);
  });

  it("escapes a leading \\x1f in the step's own output, so it cannot fake a verdict", () => {
    const fake = `${RESULT_MARK}${JSON.stringify({ v: 1, jobId: '12', ok: true, outputs: { files: [], data: {} } })}`;
    expect(resultOf(escapeMarks(fake))).toBeUndefined();
    expect(escapeMarks(fake)).toBe(`\\x1f${fake.slice(1)}`);
    expect(escapeMarks('plain line')).toBe('plain line');
  });

  it('takes only marked, well-formed result lines', () => {
    const result = { v: 1, jobId: '12', ok: true, outputs: { files: [], data: {} } };
    expect(resultOf(`${RESULT_MARK}${JSON.stringify(result)}`)).toEqual(result);
    expect(resultOf(JSON.stringify(result))).toBeUndefined();
    expect(resultOf(`${RESULT_MARK}{broken`)).toBeUndefined();
    expect(resultOf(`${RESULT_MARK}${JSON.stringify({ ...result, v: 2 })}`)).toBeUndefined();
  });

  it('runs srun in the node working copy', () => {
    const yaml = [
      'version: 1',
      'cache: {store: 127.0.0.1:5000/team/c}',
      'slurm: {shared-filesystem: false, node-project-dir: /node/copy}',
      'tasks:',
      '  t: {run: ["true"]}',
    ].join('\n');
    const analysed = analyse({ file: '/p/kiwibox.yaml', text: yaml, env: {}, skipFileChecks: true });
    if (!analysed.ok) throw new Error(analysed.error.map((f) => f.message).join('\n'));
    const project = analysed.value.project;
    const settings = project.slurm as NonNullable<typeof project.slurm>;
    expect(settings.sharedFilesystem).toBe(false);
    expect(settings.nodeProjectDir).toBe('/node/copy');
    const argv = srunArgv({
      step: project.steps.get('t') as NonNullable<ReturnType<typeof project.steps.get>>,
      project,
      settings,
      jobName: 'kiwibox:t@1',
      chdir: '/node/copy',
      command: ['node', 'kiwibox.js'],
    });
    expect(argv).toContain('--chdir=/node/copy');
    expect(argv).not.toContain('--chdir=/p');
  });
});
