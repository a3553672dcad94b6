/**
 * Reading a KIWI description directory: which file is the config, is it well-formed XML with an
 * <image> root, and which build types, profiles and packages sections it declares.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { errorMessage, type Failure, fail, type Location, ok, type Result } from '../core/result.js';
import { rememberSource } from '../core/source.js';

export interface KiwiDescription {
  /** Absolute path of config.kiwi / config.xml / *.kiwi. */
  readonly file: string;
  readonly name: string;
  /** `image` attribute of every <type>, in document order, without duplicates. */
  readonly types: readonly string[];
  /** The primary type (primary="true", else the first). */
  readonly primaryType?: string;
  readonly profiles: readonly string[];
  readonly author?: string;
  /** True when a <packages type="bootstrap"> section exists. */
  readonly hasBootstrap: boolean;
}

/** The description's config file, as kiwi-ng picks it: config.kiwi, config.xml, else a single *.kiwi. */
export function findConfigFile(dir: string): Result<string, string> {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return fail(`${dir} is not a directory`);
    names = readdirSync(dir);
  } catch {
    return fail(`description directory ${dir} does not exist`);
  }
  for (const name of ['config.kiwi', 'config.xml']) if (names.includes(name)) return ok(join(dir, name));
  const kiwis = names.filter((n) => n.endsWith('.kiwi')).sort();
  if (kiwis.length === 1) return ok(join(dir, kiwis[0] as string));
  if (kiwis.length > 1)
    return fail(`${dir} has several *.kiwi files (${kiwis.join(', ')}) and no config.kiwi`);
  return fail(`${dir} has no config.kiwi, config.xml or *.kiwi file`);
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

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
type XmlNode = Record<string, unknown>;

/** Parses a description. Failures point into the XML file (or at `where` when the dir is unusable). */
export function readDescription(dir: string, where: Location): Result<KiwiDescription> {
  const found = findConfigFile(dir);
  if (!found.ok) return fail([{ reason: 'missing-description', message: found.error, location: where }]);
  const file = found.value;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return fail([
      {
        reason: 'missing-description',
        message: `cannot read ${file}: ${errorMessage(error)}`,
        location: where,
      },
    ]);
  }
  rememberSource(file, text);
  // XML forbids `--` inside comments; fast-xml-parser accepts it, lxml (kiwi-ng) does not.
  for (const comment of text.matchAll(/<!--([\s\S]*?)-->/g)) {
    const inner = comment[1] ?? '';
    const at = inner.indexOf('--');
    if (at >= 0) {
      return fail([
        {
          reason: 'invalid-kiwi-xml',
          message: "'--' is not allowed inside an XML comment",
          location: { file, offset: (comment.index ?? 0) + 4 + at, length: 2 },
          related: [{ message: 'description used here', location: where }],
        },
      ]);
    }
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    const failure: Failure = {
      reason: 'invalid-kiwi-xml',
      message: `${msg.replace(/\.$/, '')}`,
      location: { file, offset: offsetOf(text, line, col), length: 1 },
      related: [{ message: 'description used here', location: where }],
    };
    return fail([failure]);
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseAttributeValue: false,
    parseTagValue: false,
    isArray: (name) => ['preferences', 'type', 'profiles', 'profile', 'packages', 'author'].includes(name),
  });
  const root = (parser.parse(text) as XmlNode).image as XmlNode | undefined;
  if (!root || typeof root !== 'object') {
    return fail([
      {
        reason: 'invalid-kiwi-xml',
        message: 'a KIWI description has an <image> root element',
        location: { file, offset: 0, length: 0 },
      },
    ]);
  }
  const types: string[] = [];
  let primaryType: string | undefined;
  for (const prefs of asArray(root.preferences as XmlNode[])) {
    for (const type of asArray(prefs.type as XmlNode[])) {
      const image = type['@_image'];
      if (typeof image !== 'string') continue;
      if (!types.includes(image)) types.push(image);
      if (type['@_primary'] === 'true') primaryType ??= image;
    }
  }
  const profiles = asArray(root.profiles as XmlNode[]).flatMap((p) =>
    asArray(p.profile as XmlNode[]).map((x) => String(x['@_name'])),
  );
  const description = asArray((root.description as XmlNode[] | XmlNode | undefined) ?? [])[0] as
    | XmlNode
    | undefined;
  const author = asArray(description?.author as unknown[])[0];
  return ok({
    file,
    name: String(root['@_name'] ?? ''),
    types,
    primaryType: primaryType ?? types[0],
    profiles,
    author: typeof author === 'string' ? author : undefined,
    hasBootstrap: asArray(root.packages as XmlNode[]).some((p) => p['@_type'] === 'bootstrap'),
  });
}
