/**
 * What `cache prune` needs of a registry: the fingerprint tags of a repository (`tags/list`,
 * following `Link` pagination) and deleting a manifest by digest. Blobs stay until the registry's
 * garbage collector frees them.
 */
import type { Dispatcher } from 'undici';
import { type Failure, fail, ok, type Result } from '../core/result.js';
import type { RegistryClient } from './oci-client.js';

/** An entry's tag: a fingerprint hash. Other tags in the repository are not ours to prune. */
const KEY = /^[0-9a-f]{64}$/;
const PAGE = 1000;

function statusFailure(what: string, response: Dispatcher.ResponseData, text: string): Failure[] {
  return [
    { reason: 'cache-http', message: `${what}: HTTP ${response.statusCode} ${text.slice(0, 200)}`.trim() },
  ];
}

/** The `rel="next"` target of a Link header, if any. */
function nextLink(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.join(', ') : header;
  return value?.match(/<([^>]+)>\s*;\s*rel="?next"?/)?.[1];
}

export async function listTags(options: {
  readonly client: RegistryClient;
  readonly repo: string;
  readonly signal: AbortSignal;
  /** Tags asked for per request (tests use 1 to walk the Link pages). */
  readonly pageSize?: number;
}): Promise<Result<string[]>> {
  const { client, repo, signal } = options;
  const keys = new Set<string>();
  let url: string | undefined = new URL(`/v2/${repo}/tags/list?n=${options.pageSize ?? PAGE}`, client.base)
    .href;
  // A registry whose Link points back at a page already read would loop forever.
  const seen = new Set<string>();
  while (url && !seen.has(url)) {
    seen.add(url);
    const response = await client.send({ method: 'GET', url, scope: `repository:${repo}:pull`, signal });
    if (response.statusCode === 404) {
      // No such repository: nothing was ever written to this namespace.
      await response.body.dump();
      return ok([...keys]);
    }
    if (response.statusCode !== 200) {
      return fail(statusFailure(`listing ${repo}`, response, await response.body.text()));
    }
    const body = (await response.body.json()) as { tags?: string[] | null };
    for (const tag of body.tags ?? []) if (KEY.test(tag)) keys.add(tag);
    const next = nextLink(response.headers.link);
    url = next === undefined ? undefined : new URL(next, client.base).href;
  }
  return ok([...keys]);
}

/** Deletes one manifest; a registry that refuses deletes (405, UNSUPPORTED) is named as such. */
export async function deleteManifest(options: {
  readonly client: RegistryClient;
  readonly store: string;
  readonly repo: string;
  readonly digest: string;
  readonly signal: AbortSignal;
}): Promise<Result<void>> {
  const { client, repo, digest } = options;
  const response = await client.send({
    method: 'DELETE',
    url: `/v2/${repo}/manifests/${digest}`,
    scope: `repository:${repo}:pull,push,delete`,
    signal: options.signal,
  });
  const text = await response.body.text();
  // Already gone is what the caller wanted.
  if (response.statusCode === 202 || response.statusCode === 404) return ok(undefined);
  if (response.statusCode === 405 || text.includes('"UNSUPPORTED"')) {
    return fail([
      {
        reason: 'cache-delete-refused',
        message: `${options.store} does not allow deletes (HTTP ${response.statusCode}); docker-registry needs storage: delete: enabled: true`,
      },
    ]);
  }
  return fail(statusFailure(`deleting ${repo}@${digest}`, response, text));
}
