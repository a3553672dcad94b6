/**
 * The TLS flag podman and skopeo get for an image reference (registry facts: kiwi/image-ref.ts).
 */
import type { PodmanSettings } from '../../core/model.js';
import { registryOf } from '../../kiwi/image-ref.js';

/** `--tls-verify=false` only for registries configured so. */
export function tlsArgs(settings: PodmanSettings, ref: string): string[] {
  const registry = registryOf(ref);
  return registry !== undefined && settings.registries[registry]?.tlsVerify === false
    ? ['--tls-verify=false']
    : [];
}
