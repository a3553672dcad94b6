/**
 * `kiwibox box list | fetch NAME | verify NAME | rm NAME`: the official boxes of the registry and the
 * box store. `fetch host` prepares the host box (Debian kernel + generated initramfs).
 * Exit codes: 0 ok, 1 failure, 2 bad input.
 */
import type { Command } from 'commander';
import { ensureHostBox, hostBoxArch } from '../../boxes/host-box.js';
import { ensureOfficialBox, verifyOfficialBox } from '../../boxes/official.js';
import { boxBaseUrl, findBox, loadRegistry, type Registry } from '../../boxes/registry.js';
import {
  boxStoreDir,
  listHostStored,
  listStored,
  removeHostStored,
  removeStored,
  safeName,
} from '../../boxes/store.js';
import type { Failure } from '../../core/result.js';
import { progressLines } from '../../executors/box-step.js';
import { onAction } from '../action.js';
import { EXIT } from '../options.js';

/** Where the box commands print (backed by the lead's reporters). */
export interface BoxCommandIo {
  print(line: string): void;
  error(line: string): void;
}

interface BoxOptions {
  arch?: string;
  registry?: string;
  baseUrl?: string;
  updateCheck?: boolean;
  json?: boolean;
}

const { ok: OK, failed: FAILED, badInput: BAD_INPUT, interrupted: INTERRUPTED } = EXIT;
/** Failures that come from what the user typed or configured, not from the network or disk. */
const INPUT_REASONS = new Set([
  'unknown-box',
  'box-arch-unavailable',
  'bad-box-registry',
  'bad-box-source',
  'host-box-arch',
]);

function report(io: BoxCommandIo, failures: readonly Failure[]): number {
  for (const f of failures) io.error(`error[${f.reason}]: ${f.message}`);
  return failures.every((f) => INPUT_REASONS.has(f.reason)) ? BAD_INPUT : FAILED;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

async function list(io: BoxCommandIo, registry: Registry, json: boolean): Promise<number> {
  const stored = await listStored(boxStoreDir());
  const rows = registry.boxes.flatMap((box) =>
    box.arches.map((arch) => {
      const s = stored.find((x) => x.name === box.name && x.arch === arch.name);
      return {
        name: box.name,
        arch: arch.name,
        memory: box.memory,
        stored: s ? s.bytes : 0,
        updated: s?.state?.updated,
      };
    }),
  );
  // Boxes in the store that the registry no longer names.
  for (const s of stored) {
    if (!rows.some((r) => r.name === s.name && r.arch === s.arch)) {
      rows.push({ name: s.name, arch: s.arch, memory: '?', stored: s.bytes, updated: s.state?.updated });
    }
  }
  for (const h of await listHostStored(boxStoreDir())) {
    rows.push({ name: 'host', arch: h.arch, memory: '-', stored: h.bytes, updated: undefined });
  }
  if (json) {
    io.print(JSON.stringify({ store: boxStoreDir(), boxes: rows }, null, 2));
    return OK;
  }
  const lines = table([
    ['NAME', 'ARCH', 'MEMORY', 'STORED', 'UPDATED'],
    ...rows.map((r) => [r.name, r.arch, r.memory, r.stored ? mib(r.stored) : '-', r.updated ?? '-']),
  ]);
  for (const line of lines) io.print(line);
  io.print(`store: ${boxStoreDir()}`);
  return OK;
}

/** Registers `box` and its subcommands on `program` (commander 14); each returns its exit code. */
export function registerBoxCommands(program: Command, io: BoxCommandIo): void {
  const box = program
    .command('box')
    .description('official boxes (kiwi_boxed_plugin.yml registry) and the local box store')
    .option(
      '--registry <file>',
      'a kiwi_boxed_plugin.yml added over the bundled list; env KIWIBOX_BOX_REGISTRY',
    )
    .option('--arch <arch>', `box architecture (default ${hostBoxArch()})`);
  const opts = (command: Command) => command.optsWithGlobals<BoxOptions>();
  const registryOf = (options: BoxOptions) =>
    loadRegistry(options.registry ? { file: options.registry } : {});
  const entry = (name: string, options: BoxOptions) => {
    const registry = registryOf(options);
    return registry.ok ? findBox(registry.value, name, options.arch ?? hostBoxArch()) : registry;
  };

  onAction(
    box
      .command('list')
      .description('boxes the registry offers, and what the store holds')
      .option('--json', 'print JSON'),
    async (_o: unknown, command: Command): Promise<number> => {
      const options = opts(command);
      const registry = registryOf(options);
      return registry.ok ? list(io, registry.value, options.json ?? false) : report(io, registry.error);
    },
  );

  onAction(
    box
      .command('fetch <name>')
      .description('download (or update) a box into the store; `host` prepares the host box')
      .option('--base-url <url>', 'download base for obs:// sources; env KIWIBOX_BOX_BASE_URL')
      .option('--no-update-check', 'only fetch files that are missing'),
    async (name: string, _o: unknown, command: Command): Promise<number> => {
      const options = opts(command);
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        if (name === 'host') {
          const host = await ensureHostBox({
            store: boxStoreDir(),
            arch: options.arch ?? hostBoxArch(),
            signal: controller.signal,
            onLine: (l) => io.print(l),
          });
          if (!host.ok) return controller.signal.aborted ? INTERRUPTED : report(io, host.error);
          io.print(`host box: ${host.value.kernel} + ${host.value.initrd} (${host.value.kernelPackage})`);
          return OK;
        }
        const found = entry(name, options);
        if (!found.ok) return report(io, found.error);
        const fetched = await ensureOfficialBox({
          ...found.value,
          baseUrl: boxBaseUrl(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
          store: boxStoreDir(),
          updateCheck: options.updateCheck !== false,
          signal: controller.signal,
          onLine: (l) => io.print(l),
          onProgress: progressLines((l) => io.print(l)),
        });
        if (!fetched.ok) return controller.signal.aborted ? INTERRUPTED : report(io, fetched.error);
        io.print(`box ${name}: ${fetched.value.dir}`);
        return OK;
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
    },
  );

  onAction(
    box
      .command('verify <name>')
      .description('re-hash every stored file of a box against its published sha256'),
    async (name: string, _o: unknown, command: Command): Promise<number> => {
      const options = opts(command);
      const found = entry(name, options);
      if (!found.ok) return report(io, found.error);
      const verified = await verifyOfficialBox({ ...found.value, store: boxStoreDir() });
      if (!verified.ok) return report(io, verified.error);
      for (const [file, sha] of Object.entries(verified.value)) io.print(`${sha}  ${file}  OK`);
      return OK;
    },
  );

  onAction(
    box
      .command('rm <name>')
      .description('remove a box from the store (all arches unless --arch is given); `host`: the host box'),
    async (name: string, _o: unknown, command: Command): Promise<number> => {
      const options = opts(command);
      if (name === 'host') {
        const host = await removeHostStored({
          store: boxStoreDir(),
          ...(options.arch ? { arch: options.arch } : {}),
        });
        if (!host.ok) return report(io, host.error);
        if (host.value.length === 0) {
          io.error(`error[box-not-fetched]: no host box in the store ${boxStoreDir()}`);
          return FAILED;
        }
        io.print(`removed host (${host.value.join(', ')})`);
        return OK;
      }
      if (!safeName(name)) {
        io.error(`error[bad-box-name]: '${name}' is not a box name`);
        return BAD_INPUT;
      }
      const removed = await removeStored({
        store: boxStoreDir(),
        name,
        ...(options.arch ? { arch: options.arch } : {}),
      });
      if (!removed.ok) return report(io, removed.error);
      if (removed.value.length === 0) {
        io.error(`error[box-not-fetched]: no box '${name}' in the store ${boxStoreDir()}`);
        return FAILED;
      }
      io.print(`removed ${name} (${removed.value.join(', ')})`);
      return OK;
    },
  );
}
