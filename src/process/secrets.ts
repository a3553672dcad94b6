/**
 * Variables no child process sees unless it asks: the team cache's signing key. Only srun asks (it
 * carries them to the Slurm node, whose kiwibox signs there); a task, a tool or a VM that printed
 * its environment would otherwise write the key into its log, which the cache entry carries.
 */
export const SECRET_ENV: readonly string[] = ['KIWIBOX_CACHE_KEY'];

/** `env` without the secrets (and without unset values). */
export function withoutSecrets(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !SECRET_ENV.includes(name)) kept[name] = value;
  }
  return kept;
}
