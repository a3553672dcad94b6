/**
 * Steps with the same inputs share one listing and stat within a run, but only until some step is
 * about to run: a step that writes into the shared tree must not leave a later step with stats from
 * before the write (it would record hashes of content it did not see, and re-run for nothing).
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fingerprintServices } from '../../src/cli/session.js';
import { loadProject } from '../../src/config/load.js';
import type { KiwiboxEvent } from '../../src/core/events.js';
import { executorsFor } from '../../src/executors/index.js';
import { selectSteps } from '../../src/graph/graph.js';
import { runSteps } from '../../src/scheduler/run.js';
import { TempProject } from '../support/project.js';

describe('inputs shared by steps within a run', () => {
  it('are listed again once a step runs', async () => {
    const p = new TempProject();
    try {
      p.write({
        'kiwibox.yaml': [
          'version: 1',
          'tasks:',
          '  a: {run: ["true"], inputs: ["src/**"]}',
          '  c: {run: [sh, -c, "cat trigger.txt > src/gen.txt"], inputs: [trigger.txt]}',
          '  b: {needs: [c], run: ["true"], inputs: ["src/**"]}',
          '',
        ].join('\n'),
        'src/x.txt': 'x',
        'trigger.txt': '1',
      });
      const run = async () => {
        const loaded = await loadProject({ file: p.path('kiwibox.yaml'), cache: false, env: {} });
        if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
        const { project, graph } = loaded.value;
        const order = selectSteps(project, graph, []);
        if (!order.ok) throw new Error(JSON.stringify(order.error));
        const ran: string[] = [];
        await runSteps({
          project,
          order: order.value,
          lookup: await executorsFor(project),
          services: fingerprintServices(project.stateDir),
          emit: (e: KiwiboxEvent) => {
            if (e.type === 'step-started') ran.push(e.step);
          },
          jobs: 1,
          keepGoing: false,
          force: false,
          signal: new AbortController().signal,
        });
        return ran.sort();
      };
      expect(await run()).toEqual(['a', 'b', 'c']);
      expect(await run()).toEqual(['a']); // a ran before c created src/gen.txt
      expect(await run()).toEqual([]);
      writeFileSync(p.path('trigger.txt'), '22');
      // a is fresh (its listing is kept for b), c runs and rewrites src/gen.txt, b runs after c.
      expect(await run()).toEqual(['b', 'c']);
      // a sees the new src/gen.txt; b saw it in the last run already and stays fresh.
      expect(await run()).toEqual(['a']);
      expect(await run()).toEqual([]);
    } finally {
      p.remove();
    }
  });
});
