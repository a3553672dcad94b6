/**
 * Does the host's kiwi-ng accept a description for its schema? kiwi-ng (XMLDescription.load) first
 * upgrades an older `schemaversion` with its XSLT stylesheets (xsl/master.xsl, also resolving
 * <include>), then validates the result against its RELAX NG schema (schema/kiwi.rng). kiwibox does
 * the same with xmllint (and xsltproc when kiwi would upgrade), on the files of the installed kiwi.
 * Results are cached by file digest (memory, and under ~/.cache/kiwibox/kiwi-schema). Without an
 * installed kiwi-ng or xmllint there is nothing to compare with, and no check.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Failure, Location } from '../core/result.js';

/** The schema files of an installed kiwi-ng. */
export interface KiwiSchema {
  readonly version: string;
  readonly schemaVersion: string;
  readonly rng: string;
  readonly xsl: string;
}

/** Python package dirs where Debian, pip and distro packages put `kiwi`. */
function kiwiPackageDirs(): string[] {
  const bases = ['/usr/lib/python3/dist-packages'];
  for (const lib of ['/usr/local/lib', '/usr/lib', '/usr/lib64']) {
    const pythons = (() => {
      try {
        return readdirSync(lib).filter((n) => /^python3(\.\d+)?$/.test(n));
      } catch {
        return [];
      }
    })();
    for (const py of pythons) bases.push(join(lib, py, 'dist-packages'), join(lib, py, 'site-packages'));
  }
  return bases.map((b) => join(b, 'kiwi'));
}

let installed: KiwiSchema | null | undefined;

/** The installed kiwi-ng's schema (KIWIBOX_KIWI_PACKAGE names its python package dir), if any. */
export function installedKiwiSchema(env = process.env): KiwiSchema | undefined {
  if (installed !== undefined && !env.KIWIBOX_KIWI_PACKAGE) return installed ?? undefined;
  let found: KiwiSchema | undefined;
  const dirs = env.KIWIBOX_KIWI_PACKAGE ? [env.KIWIBOX_KIWI_PACKAGE] : kiwiPackageDirs();
  for (const dir of dirs) {
    const rng = join(dir, 'schema', 'kiwi.rng');
    if (!existsSync(rng)) continue;
    const version = /__version__\s*=\s*'([^']+)'/.exec(readText(join(dir, 'version.py')))?.[1] ?? '?';
    const schemaVersion =
      /name="schemaversion">[\s\S]*?<value>([^<]+)<\/value>/.exec(readHead(rng))?.[1] ?? '?';
    found = { version, schemaVersion, rng, xsl: join(dir, 'xsl', 'master.xsl') };
    break;
  }
  if (!env.KIWIBOX_KIWI_PACKAGE) installed = found ?? null;
  return found;
}

/** The first 64 KiB: the schemaversion is defined near the top of kiwi.rng (180 KiB). */
function readHead(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(64 * 1024);
    return buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const versionParts = (v: string) => v.split('.').map((p) => Number.parseInt(p, 10) || 0);
/** Negative, zero or positive as `a` is older, equal or newer than `b` (schema versions like 7.5). */
function compareVersions(a: string, b: string): number {
  const [x, y] = [versionParts(a), versionParts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function lineStart(text: string, line: number): number {
  let offset = 0;
  for (let l = 1; l < line && offset >= 0; l++) offset = text.indexOf('\n', offset) + 1 || -1;
  return Math.max(offset, 0);
}

/** The `<element` xmllint names on a line, else the line's first non-blank character. */
function locateOnLine(text: string, file: string, line: number, element: string): Location {
  const start = lineStart(text, line);
  const end = text.indexOf('\n', start) < 0 ? text.length : text.indexOf('\n', start);
  const lineText = text.slice(start, end);
  const at = lineText.indexOf(`<${element}`);
  const col = at >= 0 ? at : Math.max(lineText.search(/\S/), 0);
  return { file, offset: start + col, length: at >= 0 ? element.length + 1 : 0 };
}

interface Found {
  readonly line?: number;
  readonly element?: string;
  readonly message: string;
}

/** xmllint's `file:LINE: element NAME: Relax-NG validity error : MESSAGE` lines. */
function parseXmllint(stderr: string): Found[] {
  const found: Found[] = [];
  for (const raw of stderr.split('\n')) {
    const m = /^.*?:(\d+): element ([^:]+): Relax-NG validity error : (.*)$/.exec(raw);
    if (m) found.push({ line: Number(m[1]), element: m[2] as string, message: m[3] as string });
    else if (/validity error|parser error/.test(raw)) found.push({ message: raw.replace(/^.*error : /, '') });
  }
  // "X failed to validate content" repeats what a more precise line already said.
  const precise = found.filter((f) => !/failed to validate content|in interleave$/.test(f.message));
  return precise.length > 0 ? precise : found.slice(0, 1);
}

function run(argv: [string, ...string[]], input?: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  if (r.error) return { code: null, out: '', err: r.error.message };
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Undefined when a tool could not be run (nothing to cache). */
function validate(file: string, text: string, schema: KiwiSchema): Failure[] | undefined {
  const reason = 'kiwi-schema';
  const judge = `kiwi-ng ${schema.version} (schema ${schema.schemaVersion})`;
  const sv = /<image\b[^>]*?\bschemaversion\s*=\s*["']([^"']*)["']/.exec(text);
  const image = text.search(/<image\b/);
  const imageAt: Location = { file, offset: Math.max(image, 0), length: image >= 0 ? 6 : 0 };
  const version = sv?.[1];
  if (version !== undefined && compareVersions(version, schema.schemaVersion) > 0) {
    const offset = (sv?.index ?? 0) + (sv?.[0].lastIndexOf(version) ?? 0);
    return [
      {
        reason,
        message: `schemaversion ${version} is newer than the installed ${judge} reads: it rejects this description (build it in a box with a newer kiwi, or lower the schemaversion)`,
        location: { file, offset, length: version.length },
      },
    ];
  }
  // kiwi's XSLT leaves a current description as it is, unless it has <include>s to resolve.
  const upgraded = version !== schema.schemaVersion || /<include\b/.test(text);
  let checked: { code: number | null; out: string; err: string };
  if (upgraded) {
    const xslt = run(['xsltproc', '--nonet', schema.xsl, file]);
    if (xslt.code !== 0) {
      const message = `kiwi's XSLT upgrade (xsltproc ${schema.xsl}) failed: ${xslt.err.trim().split('\n')[0] ?? ''}`;
      return xslt.code === null ? undefined : [{ reason, message, location: imageAt }];
    }
    checked = run(['xmllint', '--noout', '--relaxng', schema.rng, '-'], xslt.out);
  } else {
    checked = run(['xmllint', '--noout', '--relaxng', schema.rng, file]);
  }
  if (checked.code === null) return undefined;
  if (checked.code === 0) return [];
  // libxml2 says "Invalid sequence in interleave" for a type kiwi does not build: name it instead.
  const unknownTypes = unknownTypeImages(text, file, schema, judge);
  if (unknownTypes.length > 0) return unknownTypes;
  return parseXmllint(checked.err).map((f): Failure => {
    if (upgraded) {
      const where = f.line === undefined ? '' : ` (line ${f.line} of the upgraded document)`;
      return {
        reason,
        message: `${judge} rejects it after upgrading schemaversion ${version ?? '(none)'} to ${schema.schemaVersion}: ${f.message}${where}`,
        location: imageAt,
      };
    }
    const location = f.line === undefined ? imageAt : locateOnLine(text, file, f.line, f.element ?? '');
    return { reason, message: `${judge} rejects it: ${f.message}`, location };
  });
}

/** `<type image="X">` whose X is not among the schema's type images, at the value. */
function unknownTypeImages(text: string, file: string, schema: KiwiSchema, judge: string): Failure[] {
  const define = /<define name="k\.type\.image\.attribute">([\s\S]*?)<\/define>/.exec(readText(schema.rng));
  const known = [...(define?.[1] ?? '').matchAll(/<value>([^<]+)<\/value>/g)].map((m) => m[1] as string);
  if (known.length === 0) return [];
  const failures: Failure[] = [];
  for (const m of text.matchAll(/<type\b[^>]*?\simage\s*=\s*["']([^"']*)["']/g)) {
    const image = m[1] as string;
    if (known.includes(image)) continue;
    failures.push({
      reason: 'kiwi-schema',
      message: `${judge} does not know the image type '${image}' (it knows: ${known.join(', ')})`,
      location: { file, offset: (m.index ?? 0) + m[0].length - image.length - 1, length: image.length },
    });
  }
  return failures;
}

const memory = new Map<string, Failure[]>();

function cacheDir(env = process.env): string {
  return join(env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), '.cache'), 'kiwibox', 'kiwi-schema');
}

/**
 * Problems the installed kiwi-ng would report for `file` against its schema (none when no kiwi-ng or
 * xmllint is installed). `related` points at where the description is used.
 */
export function checkSchema(file: string, usedAt: Location): Failure[] {
  const schema = installedKiwiSchema();
  if (!schema) return [];
  const text = readText(file);
  const rng = statSync(schema.rng, { throwIfNoEntry: false });
  const key = createHash('sha256')
    .update(JSON.stringify([file, schema.rng, rng?.mtimeMs, rng?.size, schema.version]))
    .update(text)
    .digest('hex');
  let failures = memory.get(key);
  const stored = join(cacheDir(), key);
  if (!failures) {
    try {
      failures = JSON.parse(readFileSync(stored, 'utf8')) as Failure[];
    } catch {
      failures = validate(file, text, schema);
      if (!failures) return [];
      try {
        mkdirSync(cacheDir(), { recursive: true });
        writeFileSync(`${stored}.${process.pid}`, JSON.stringify(failures));
        renameSync(`${stored}.${process.pid}`, stored);
      } catch {
        // A cache that cannot be written only costs time.
      }
    }
    memory.set(key, failures);
  }
  return failures.map((f) => ({ ...f, related: [{ message: 'description used here', location: usedAt }] }));
}
