/**
 * The one KIWI XML reader: the description file kiwi-ng would read (description-file.ts), checked to
 * be well-formed with an <image> root, and the facts kiwibox needs from it (name, author, bootstrap
 * section, types with their attributes and the profiles they sit under, profiles, repositories).
 * Types, profiles and their resolution for a step are in build-type.ts; the schema check in schema.ts.
 */
import { readFileSync } from 'node:fs';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { errorMessage, type Failure, fail, type Location, ok, type Result } from '../core/result.js';
import { rememberSource } from '../core/source.js';
import { descriptionFile } from './description-file.js';

/** A <type> as kiwi-ng sees it after its XSLT upgrade (legacy `vmx` is `oem`). */
export interface KiwiType {
  /** The `image` attribute: oem, iso, tbz, docker, … */
  readonly image: string;
  readonly primary: boolean;
  /** Every attribute of the <type> (image, format, firmware, filesystem, …), as written. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Profiles of the enclosing <preferences profiles="…">; empty: used with any profile. */
  readonly profiles: readonly string[];
  /** `arch` of the enclosing <preferences>; empty: any. */
  readonly arch: readonly string[];
}

export interface KiwiProfile {
  readonly name: string;
  /** `import="true"`: selected when a build names no profile. */
  readonly import: boolean;
  readonly arch: readonly string[];
  /** <requires profile="…"/>: selected along with this one. */
  readonly requires: readonly string[];
}

export interface KiwiRepository {
  /** rpm-md, apt-deb, … (kiwi's default is rpm-md). */
  readonly type?: string;
  readonly alias?: string;
  readonly source?: string;
  readonly profiles: readonly string[];
}

export interface KiwiDescription {
  /** Absolute path of the file kiwi-ng reads. */
  readonly file: string;
  readonly name: string;
  readonly schemaVersion?: string;
  readonly author?: string;
  /** True when a <packages type="bootstrap"> section exists. */
  readonly hasBootstrap: boolean;
  /** Every <type>, in document order. */
  readonly types: readonly KiwiType[];
  readonly profiles: readonly KiwiProfile[];
  readonly repositories: readonly KiwiRepository[];
}

type XmlNode = Record<string, unknown>;
const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const list = (value: unknown): string[] =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
const REPEATED = [
  'preferences',
  'type',
  'profiles',
  'profile',
  'packages',
  'author',
  'repository',
  'requires',
];

function attributesOf(node: XmlNode): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(node))
    if (key.startsWith('@_')) out[key.slice(2)] = String(value);
  return out;
}

/** Whether kiwi's XSLT upgrades the document past 7.2 → 7.3 (where `vmx` became `oem`). */
function upgradesVmx(schemaVersion: string | undefined): boolean {
  const [major, minor] = (schemaVersion ?? '').split('.').map(Number);
  return major !== undefined && minor !== undefined && (major < 7 || (major === 7 && minor <= 2));
}

/** The facts of a well-formed description text; undefined without an <image> root. */
export function descriptionFacts(text: string, file: string): KiwiDescription | undefined {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseAttributeValue: false,
    parseTagValue: false,
    isArray: (name) => REPEATED.includes(name),
  });
  let root: XmlNode | undefined;
  try {
    root = (parser.parse(text) as XmlNode).image as XmlNode | undefined;
  } catch {
    return undefined;
  }
  if (!root || typeof root !== 'object') return undefined;
  const schemaVersion = typeof root['@_schemaversion'] === 'string' ? root['@_schemaversion'] : undefined;
  const types: KiwiType[] = [];
  for (const prefs of asArray(root.preferences as XmlNode[])) {
    for (const type of asArray(prefs.type as XmlNode[])) {
      const attributes = attributesOf(type);
      if (attributes.image === undefined) continue;
      if (attributes.image === 'vmx' && upgradesVmx(schemaVersion)) attributes.image = 'oem';
      types.push({
        image: attributes.image,
        primary: attributes.primary === 'true',
        attributes,
        profiles: list(prefs['@_profiles']),
        arch: list(prefs['@_arch']),
      });
    }
  }
  const profiles = asArray(root.profiles as XmlNode[]).flatMap((section) =>
    asArray(section.profile as XmlNode[]).map(
      (p): KiwiProfile => ({
        name: String(p['@_name'] ?? ''),
        import: p['@_import'] === 'true',
        arch: list(p['@_arch']),
        requires: asArray(p.requires as XmlNode[]).map((r) => String(r['@_profile'] ?? '')),
      }),
    ),
  );
  const repositories = asArray(root.repository as XmlNode[]).map((repo): KiwiRepository => {
    const source = (repo.source as XmlNode | undefined)?.['@_path'];
    return {
      ...(typeof repo['@_type'] === 'string' ? { type: repo['@_type'] } : {}),
      ...(typeof repo['@_alias'] === 'string' ? { alias: repo['@_alias'] } : {}),
      ...(typeof source === 'string' ? { source } : {}),
      profiles: list(repo['@_profiles']),
    };
  });
  const description = asArray(root.description as XmlNode[] | XmlNode | undefined)[0];
  const author = asArray(description?.author as unknown[])[0];
  return {
    file,
    name: String(root['@_name'] ?? ''),
    ...(schemaVersion !== undefined ? { schemaVersion } : {}),
    ...(typeof author === 'string' || typeof author === 'number' ? { author: String(author).trim() } : {}),
    hasBootstrap: asArray(root.packages as XmlNode[]).some((p) => p['@_type'] === 'bootstrap'),
    types,
    profiles,
    repositories,
  };
}

function offsetOf(text: string, line: number, col: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) break;
    offset = next + 1;
  }
  return Math.min(offset + Math.max(col - 1, 0), text.length);
}

/** Well-formedness as lxml (kiwi-ng) sees it; a failure points into the XML. */
function wellFormed(text: string, file: string, where: Location): Failure | undefined {
  const related = [{ message: 'description used here', location: where }];
  // XML forbids `--` inside comments; fast-xml-parser accepts it, lxml does not.
  for (const comment of text.matchAll(/<!--([\s\S]*?)-->/g)) {
    const at = (comment[1] ?? '').indexOf('--');
    if (at >= 0) {
      return {
        reason: 'invalid-kiwi-xml',
        message: "'--' is not allowed inside an XML comment",
        location: { file, offset: (comment.index ?? 0) + 4 + at, length: 2 },
        related,
      };
    }
  }
  const valid = XMLValidator.validate(text);
  if (valid === true) return undefined;
  const { line, col, msg } = valid.err;
  return {
    reason: 'invalid-kiwi-xml',
    message: msg.replace(/\.$/, ''),
    location: { file, offset: offsetOf(text, line, col), length: 1 },
    related,
  };
}

/**
 * Reads the description kiwi-ng would read in `dir` (`kiwiFile`: the step's `--kiwi-file`). Failures
 * point into the XML file, or at `where` when there is no file to read.
 */
export function readDescription(
  dir: string,
  where: Location,
  options: { readonly kiwiFile?: string } = {},
): Result<KiwiDescription> {
  const found = descriptionFile(dir, options.kiwiFile);
  if (!found.ok) return fail([{ reason: 'missing-description', message: found.error, location: where }]);
  const file = found.value;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const message = `cannot read ${file}: ${errorMessage(error)}`;
    return fail([{ reason: 'missing-description', message, location: where }]);
  }
  rememberSource(file, text);
  const broken = wellFormed(text, file, where);
  if (broken) return fail([broken]);
  const facts = descriptionFacts(text, file);
  if (!facts) {
    return fail([
      {
        reason: 'invalid-kiwi-xml',
        message: 'a KIWI description has an <image> root element',
        location: { file, offset: 0, length: 0 },
        related: [{ message: 'description used here', location: where }],
      },
    ]);
  }
  return ok(facts);
}
