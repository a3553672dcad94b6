/**
 * The team cache on an OCI registry (distribution spec): an entry is a plain OCI image manifest,
 * `artifactType: application/vnd.kiwibox.step.v1`, tagged with the step's fingerprint hash, config =
 * the step record, one layer per output; signatures sit in its annotations
 * (`dev.kiwibox.sig.<keyname>`), so registries without the referrers API (Debian's 2.8) work.
 * A namespace is a sub-repository (`team/kiwibox-cache/pr-123`); '' is the repository itself.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Dispatcher } from 'undici';
import { errorMessage, type Failure, fail, failWith, ok, type Result } from '../core/result.js';
import { RegistryClient } from './oci-client.js';
import { deleteManifest, listTags } from './oci-prune.js';
import type { BlobRef, CacheEntry, CacheStore, Digest } from './store.js';
import { verifiedWrite } from './verified-write.js';

export const ARTIFACT_TYPE = 'application/vnd.kiwibox.step.v1';
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const SIG_PREFIX = 'dev.kiwibox.sig.';
/** PATCH size of an upload: big outputs go in resumable-sized pieces. */
const CHUNK = 64 * 1024 * 1024;

interface Manifest {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: BlobRef;
  readonly layers: readonly BlobRef[];
  readonly annotations?: Readonly<Record<string, string>>;
}

function httpFailure(what: string, response: Dispatcher.ResponseData | string): Failure[] {
  const detail = typeof response === 'string' ? response : `HTTP ${response.statusCode}`;
  return [{ reason: 'cache-http', message: `${what}: ${detail}` }];
}

/** Calls `fn`, turning a thrown network error or timeout into a failure. */
async function guarded<T>(what: string, fn: () => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await fn();
  } catch (error) {
    return fail(httpFailure(what, errorMessage(error)));
  }
}

function blobRef(raw: BlobRef): BlobRef {
  return {
    digest: raw.digest,
    size: raw.size,
    mediaType: raw.mediaType,
    ...(raw.annotations ? { annotations: raw.annotations } : {}),
  };
}

export class OciStore implements CacheStore {
  readonly name: string;
  readonly #client: RegistryClient;
  readonly #repository: string;
  /** The namespace writes go to: blobs are checked and pushed there. */
  readonly #blobRepo: string;

  constructor(options: {
    readonly registry: string;
    readonly repository: string;
    readonly insecure: boolean;
    readonly writeNamespace?: string;
    readonly env?: Readonly<Record<string, string | undefined>>;
  }) {
    this.name = `oci://${options.registry}/${options.repository}`;
    this.#repository = options.repository;
    this.#blobRepo = this.#repo(options.writeNamespace ?? '');
    this.#client = new RegistryClient(options);
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  #repo(namespace: string): string {
    return namespace ? `${this.#repository}/${namespace}` : this.#repository;
  }

  readEntry(options: { signal: AbortSignal; namespace: string; key: string }) {
    const repo = this.#repo(options.namespace);
    return guarded(`reading ${this.name} entry ${options.key}`, async () => {
      const response = await this.#client.send({
        method: 'GET',
        url: `/v2/${repo}/manifests/${options.key}`,
        scope: `repository:${repo}:pull`,
        headers: { accept: MANIFEST_TYPE },
        signal: options.signal,
      });
      if (response.statusCode === 404) {
        await response.body.dump();
        return ok(undefined);
      }
      if (response.statusCode !== 200) {
        await response.body.dump();
        return fail(httpFailure(`reading ${repo}:${options.key}`, response));
      }
      const bytes = Buffer.from(await response.body.arrayBuffer());
      const manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
      if (manifest.artifactType !== ARTIFACT_TYPE || !manifest.config || !Array.isArray(manifest.layers)) {
        return failWith({ reason: 'cache-http', message: `${repo}:${options.key} is not a kiwibox entry` });
      }
      const signatures: Record<string, string> = {};
      const annotations: Record<string, string> = {};
      for (const [k, v] of Object.entries(manifest.annotations ?? {})) {
        if (k.startsWith(SIG_PREFIX)) signatures[k.slice(SIG_PREFIX.length)] = v;
        else annotations[k] = v;
      }
      const entry: CacheEntry = {
        key: options.key,
        config: blobRef(manifest.config),
        layers: manifest.layers.map(blobRef),
        signatures,
        annotations,
        revision: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      };
      return ok(entry);
    });
  }

  hasBlob(options: { signal: AbortSignal; digest: Digest }) {
    const repo = this.#blobRepo;
    return guarded(`checking blob ${options.digest}`, async () => {
      const response = await this.#client.send({
        method: 'HEAD',
        url: `/v2/${repo}/blobs/${options.digest}`,
        scope: `repository:${repo}:pull,push`,
        signal: options.signal,
      });
      await response.body.dump();
      if (response.statusCode === 200) return ok(true);
      if (response.statusCode === 404) return ok(false);
      return fail(httpFailure(`checking blob ${options.digest}`, response));
    });
  }

  fetchBlob(options: { signal: AbortSignal; blob: BlobRef; file: string; namespace?: string }) {
    const repo = this.#repo(options.namespace ?? '');
    const { blob, file } = options;
    return guarded(`fetching blob ${blob.digest}`, async () => {
      let response = await this.#client.send({
        method: 'GET',
        url: `/v2/${repo}/blobs/${blob.digest}`,
        scope: `repository:${repo}:pull`,
        signal: options.signal,
      });
      // Registries with object storage redirect blob reads to it (signed URL, no credentials).
      const location = response.headers.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
        await response.body.dump();
        response = await this.#client.send({
          method: 'GET',
          url: new URL(location, this.#client.base).href,
          scope: '',
          signal: options.signal,
        });
      }
      if (response.statusCode !== 200) {
        await response.body.dump();
        return fail(httpFailure(`fetching blob ${blob.digest}`, response));
      }
      return await verifiedWrite({ source: response.body, blob, file, signal: options.signal });
    });
  }

  pushBlob(options: { signal: AbortSignal; blob: BlobRef; file: string }) {
    const repo = this.#blobRepo;
    const scope = `repository:${repo}:pull,push`;
    const { blob, signal } = options;
    return guarded(`uploading blob ${blob.digest}`, async () => {
      const started = await this.#client.send({
        method: 'POST',
        url: `/v2/${repo}/blobs/uploads/`,
        scope,
        signal,
      });
      await started.body.dump();
      let location = started.headers.location;
      if (started.statusCode !== 202 || typeof location !== 'string') {
        return fail(httpFailure(`starting upload of ${blob.digest}`, started));
      }
      for (let offset = 0; offset < blob.size; offset += CHUNK) {
        const end = Math.min(offset + CHUNK, blob.size) - 1;
        const patched = await this.#client.send({
          method: 'PATCH',
          url: new URL(location, this.#client.base).href,
          scope,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${end}`,
            'content-length': String(end - offset + 1),
          },
          body: createReadStream(options.file, { start: offset, end }),
          signal,
        });
        await patched.body.dump();
        location = patched.headers.location;
        if (patched.statusCode !== 202 || typeof location !== 'string') {
          return fail(httpFailure(`uploading ${blob.digest}`, patched));
        }
      }
      const url = new URL(location, this.#client.base);
      url.searchParams.set('digest', blob.digest);
      const done = await this.#client.send({
        method: 'PUT',
        url: url.href,
        scope,
        headers: { 'content-length': '0' },
        signal,
      });
      await done.body.dump();
      return done.statusCode === 201
        ? ok(undefined)
        : fail(httpFailure(`finishing upload of ${blob.digest}`, done));
    });
  }

  writeEntry(options: { signal: AbortSignal; namespace: string; entry: CacheEntry }) {
    const repo = this.#repo(options.namespace);
    const { entry } = options;
    const signatures = Object.fromEntries(
      Object.entries(entry.signatures).map(([name, sig]) => [`${SIG_PREFIX}${name}`, sig]),
    );
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      artifactType: ARTIFACT_TYPE,
      config: entry.config,
      layers: entry.layers,
      annotations: { ...entry.annotations, ...signatures },
    };
    return guarded(`writing ${this.name} entry ${entry.key}`, async () => {
      const response = await this.#client.send({
        method: 'PUT',
        url: `/v2/${repo}/manifests/${entry.key}`,
        scope: `repository:${repo}:pull,push`,
        headers: { 'content-type': MANIFEST_TYPE },
        body: JSON.stringify(manifest),
        signal: options.signal,
      });
      const text = await response.body.text();
      return response.statusCode === 201
        ? ok(undefined)
        : fail(
            httpFailure(`writing ${repo}:${entry.key}`, `HTTP ${response.statusCode} ${text.slice(0, 200)}`),
          );
    });
  }

  listEntries(options: { signal: AbortSignal; namespace: string }) {
    const repo = this.#repo(options.namespace);
    return guarded(`listing ${this.name} entries`, () =>
      listTags({ client: this.#client, repo, signal: options.signal }),
    );
  }

  deleteEntry(options: { signal: AbortSignal; namespace: string; key: string; revision?: string }) {
    const repo = this.#repo(options.namespace);
    const remove = (digest: string) =>
      deleteManifest({ client: this.#client, store: this.name, repo, digest, signal: options.signal });
    return guarded(`deleting ${repo}:${options.key}`, async () => {
      if (options.revision) return remove(options.revision);
      const head = await this.#client.send({
        method: 'HEAD',
        url: `/v2/${repo}/manifests/${options.key}`,
        scope: `repository:${repo}:pull`,
        headers: { accept: MANIFEST_TYPE },
        signal: options.signal,
      });
      await head.body.dump();
      const digest = head.headers['docker-content-digest'];
      if (head.statusCode === 404) return ok(undefined);
      if (head.statusCode !== 200 || typeof digest !== 'string')
        return fail(httpFailure(`finding ${repo}:${options.key}`, head));
      return remove(digest);
    });
  }
}
