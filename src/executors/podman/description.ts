/**
 * What the stash executor and `kiwibox stash` read from a root tree: the `/image/config.xml` kiwi-ng
 * prepare wrote there (its <image name> is upstream's default container name, its author the
 * stash's maintainer label). Read with the one KIWI XML reader (kiwi/description.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { descriptionFacts, type KiwiDescription } from '../../kiwi/description.js';

/** The description kiwi-ng left in a root tree (`/image/config.xml`); undefined without a readable one. */
export async function rootDescription(root: string): Promise<KiwiDescription | undefined> {
  const file = join(root, 'image', 'config.xml');
  try {
    return descriptionFacts(await readFile(file, 'utf8'), file);
  } catch {
    return undefined;
  }
}
