/**
 * The store a cache configuration names, by the one rule in parseStoreAddress: an OCI registry
 * repository, or the HTTP /ac + /cas backend.
 */
import type { PodmanSettings } from '../core/model.js';
import { ok, type Result } from '../core/result.js';
import { insecureRegistry } from '../kiwi/registries-conf.js';
import { openHttpStore } from './http-open.js';
import { OciStore } from './oci-store.js';
import type { CacheConfig } from './settings.js';
import type { CacheStore } from './store.js';

export function openStore(options: {
  readonly config: CacheConfig;
  readonly podman?: PodmanSettings;
  readonly env?: Readonly<Record<string, string | undefined>>;
}): Result<CacheStore> {
  const { address } = options.config;
  if (address.kind === 'http') return openHttpStore({ url: address.url, env: options.env ?? process.env });
  return ok(
    new OciStore({
      registry: address.registry,
      repository: address.repository,
      insecure: insecureRegistry({ registry: address.registry, podman: options.podman, env: options.env }),
      writeNamespace: options.config.writeNamespace,
      env: options.env,
    }),
  );
}
