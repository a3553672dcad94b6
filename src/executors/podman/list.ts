/**
 * Stashes as podman sees them: images with the KIWI meta label (kiwibox's and upstream's), with
 * their tags and layer counts. Pulled stashes are included (upstream listed only its own archives).
 */
import type { PodmanSettings } from '../../core/model.js';
import { ok, type Result } from '../../core/result.js';
import { PodmanSession } from './podman.js';
import { LABEL_MAINTAINER, LABEL_META } from './stash.js';

export interface StashListing {
  /** `REGISTRY/NAME` (e.g. `localhost/base`). */
  readonly repository: string;
  readonly tag: string;
  readonly id: string;
  readonly layers: number;
  readonly maintainer: string;
  /** ISO date. */
  readonly created: string;
}

interface RawListed {
  Id: string;
  Names?: string[] | null;
  Created?: number;
}

/** Every tagged stash image in the store, sorted by repository and tag. */
export async function listStashes(options: {
  settings: PodmanSettings;
  cwd: string;
}): Promise<Result<StashListing[]>> {
  const session = new PodmanSession({ settings: options.settings, cwd: options.cwd });
  const listed = await session.call(
    ['images', '--format', 'json', '--filter', `label=${LABEL_META}`],
    'podman-list-failed',
  );
  if (!listed.ok) return listed;
  const images = JSON.parse(listed.value || '[]') as RawListed[];
  const stashes: StashListing[] = [];
  for (const image of images) {
    const info = await session.inspectImage(image.Id);
    if (!info.ok) continue; // Removed meanwhile.
    for (const name of image.Names ?? []) {
      const colon = name.lastIndexOf(':');
      stashes.push({
        repository: name.slice(0, colon),
        tag: name.slice(colon + 1),
        id: image.Id,
        layers: info.value.layers,
        maintainer: info.value.labels[LABEL_MAINTAINER] ?? '',
        created: new Date((image.Created ?? 0) * 1000).toISOString(),
      });
    }
  }
  stashes.sort((a, b) => a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));
  return ok(stashes);
}
