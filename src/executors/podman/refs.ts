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

/**
 * skopeo's global flags to read registries.conf as podman does. podman takes the file from
 * CONTAINERS_REGISTRIES_CONF; Debian 12's skopeo 1.9 ignores that variable (so a registry marked
 * `insecure = true` there was refused over plain HTTP) but takes the same path as `--registries-conf`.
 * The default paths and the registries.conf.d drop-ins are then read by the same containers/image
 * code in both tools.
 */
export function registriesConfArgs(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const file = env.CONTAINERS_REGISTRIES_CONF;
  return file ? ['--registries-conf', file] : [];
}
