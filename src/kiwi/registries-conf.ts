/**
 * What containers-registries.conf(5) says about one registry's transport, read the way podman reads
 * it: CONTAINERS_REGISTRIES_CONF or /etc/containers/registries.conf, then the registries.conf.d
 * drop-ins. Only `[[registry]]` tables with `location` and `insecure` matter here (plain HTTP is
 * allowed for a registry marked `insecure = true`). kiwibox's own `podman: registries:` setting
 * (PodmanSettings) says the same for kiwibox's podman calls; insecureRegistry combines both.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodmanSettings } from '../core/model.js';

type Env = Readonly<Record<string, string | undefined>>;

function confFiles(env: Env): string[] {
  const main = env.CONTAINERS_REGISTRIES_CONF || '/etc/containers/registries.conf';
  const dropIns = '/etc/containers/registries.conf.d';
  let extra: string[] = [];
  try {
    extra = readdirSync(dropIns)
      .filter((name) => name.endsWith('.conf'))
      .sort()
      .map((name) => join(dropIns, name));
  } catch {
    // No drop-ins.
  }
  return [main, ...extra];
}

/** `insecure` of each `[[registry]]` location in one file's text (later tables win). */
export function insecureLocations(text: string): Map<string, boolean> {
  const found = new Map<string, boolean>();
  let location: string | undefined;
  let insecure: boolean | undefined;
  const flush = () => {
    if (location !== undefined && insecure !== undefined) found.set(location, insecure);
    location = undefined;
    insecure = undefined;
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line.startsWith('[')) flush();
    const loc = /^location\s*=\s*"([^"]*)"/.exec(line);
    if (loc) location = loc[1];
    const ins = /^insecure\s*=\s*(true|false)/.exec(line);
    if (ins) insecure = ins[1] === 'true';
  }
  flush();
  return found;
}

/** True when podman would talk plain HTTP to `registry` (`host[:port]`). */
export function insecureRegistry(options: {
  readonly registry: string;
  readonly podman?: PodmanSettings;
  readonly env?: Env;
}): boolean {
  if (options.podman?.registries[options.registry]?.tlsVerify === false) return true;
  let insecure = false;
  for (const file of confFiles(options.env ?? process.env)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    insecure = insecureLocations(text).get(options.registry) ?? insecure;
  }
  return insecure;
}
