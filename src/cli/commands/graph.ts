import type { Output } from '../../reporters/output.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { openSession } from '../session.js';

export type GraphFormat = 'dot' | 'mermaid' | 'json';

export async function graphCommand(global: GlobalOptions, format: GraphFormat, out: Output): Promise<number> {
  const session = await openSession(global, [], { readOnly: true });
  if (!session.ok) {
    out.failures(session.error);
    return EXIT.badInput;
  }
  const { project, order } = session.value;
  const steps = order.map((id) => project.steps.get(id)).filter((s) => s !== undefined);
  const quote = (s: string) => JSON.stringify(s);
  if (format === 'json') {
    out.print(
      JSON.stringify({ steps: steps.map((s) => ({ id: s.id, kind: s.kind, deps: s.deps })) }, null, 2),
    );
  } else if (format === 'dot') {
    out.print('digraph kiwibox {');
    out.print('  rankdir=LR;');
    // `\n` is DOT's line break inside a label; JSON quoting would double its backslash.
    for (const s of steps) out.print(`  ${quote(s.id)} [label=${quote(s.id).slice(0, -1)}\\n(${s.kind})"];`);
    for (const s of steps) for (const d of s.deps) out.print(`  ${quote(d)} -> ${quote(s.id)};`);
    out.print('}');
  } else {
    const node = (id: string) => `n${order.indexOf(id)}`;
    out.print('graph LR');
    for (const s of steps) out.print(`  ${node(s.id)}["${s.id} (${s.kind})"]`);
    for (const s of steps) for (const d of s.deps) out.print(`  ${node(d)} --> ${node(s.id)}`);
  }
  return EXIT.ok;
}
