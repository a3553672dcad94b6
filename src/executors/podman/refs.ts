/**
 * Image references: which registry a reference names, whether it is fully qualified, and the TLS
 * flag podman and skopeo get for it.
 */
import type { PodmanSettings } from '../../core/model.js';

/** The registry host[:port] of a fully qualified reference, or undefined for a short name. */
export function registryOf(ref: string): string | undefined {
  const slash = ref.indexOf('/');
  if (slash < 0) return undefined;
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

/** `--tls-verify=false` only for registries configured so. */
export function tlsArgs(settings: PodmanSettings, ref: string): string[] {
  const registry = registryOf(ref);
  return registry !== undefined && settings.registries[registry]?.tlsVerify === false
    ? ['--tls-verify=false']
    : [];
}

/** Fully qualified means a registry host is named: `localhost/NAME:TAG`, `HOST:PORT/NAME:TAG`. */
export function isFullyQualified(ref: string): boolean {
  return registryOf(ref) !== undefined;
}
