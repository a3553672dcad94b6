/**
 * Container image references as KIWI and podman read them: which registry a reference names and
 * whether it is fully qualified (never a short name that podman would search registries for).
 */

/** The registry host[:port] of a fully qualified reference, or undefined for a short name. */
export function registryOf(ref: string): string | undefined {
  const slash = ref.indexOf('/');
  if (slash < 0) return undefined;
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

/** Fully qualified means a registry host is named: `localhost/NAME:TAG`, `HOST:PORT/NAME:TAG`. */
export function isFullyQualified(ref: string): boolean {
  return registryOf(ref) !== undefined;
}
