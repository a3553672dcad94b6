/**
 * What the stash and stack executors read from KIWI descriptions: the author (the stash's
 * maintainer label) and whether a description would bootstrap (which kiwi-ng cannot do into the
 * non-empty root of a stack).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' });

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

interface ImageXml {
  description?: { author?: unknown } | { author?: unknown }[];
  packages?: { '@type'?: string } | { '@type'?: string }[];
}

function imageOf(xmlText: string): ImageXml | undefined {
  try {
    const doc = parser.parse(xmlText) as { image?: ImageXml };
    return typeof doc.image === 'object' && doc.image !== null ? doc.image : undefined;
  } catch {
    return undefined;
  }
}

/** `<description><author>` of a description's XML text, if there is one. */
export function descriptionAuthor(xmlText: string): string | undefined {
  const image = imageOf(xmlText);
  for (const description of asArray(image?.description)) {
    const author = description?.author;
    if (typeof author === 'string' || typeof author === 'number') return String(author).trim();
  }
  return undefined;
}

/** The author from a root tree's `/image/config.xml` (written by kiwi-ng prepare); undefined without one. */
export async function rootAuthor(root: string): Promise<string | undefined> {
  try {
    return descriptionAuthor(await readFile(join(root, 'image', 'config.xml'), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * A stack's description is built with `--allow-existing-root`: a `<packages type="bootstrap">`
 * section makes kiwi-ng run the bootstrap into the stacked root, which fails. Returns why the
 * description is unusable, or undefined when it is fine.
 */
export function checkStackDescription(xmlText: string): string | undefined {
  const image = imageOf(xmlText);
  if (!image) return 'the description is not a KIWI <image> document';
  if (asArray(image.packages).some((section) => section?.['@type'] === 'bootstrap')) {
    return 'the description has a <packages type="bootstrap"> section: kiwi-ng cannot bootstrap into the stacked (non-empty) root; list the packages under <packages type="image"> instead';
  }
  return undefined;
}

/** The description file kiwi-ng would read in a directory: config.xml, else the first *.kiwi. */
export async function findDescriptionFile(dir: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  if (names.includes('config.xml')) return join(dir, 'config.xml');
  const kiwi = names.filter((name) => name.endsWith('.kiwi')).sort()[0];
  return kiwi === undefined ? undefined : join(dir, kiwi);
}
