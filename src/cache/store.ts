/**
 * The team cache's contract with a server (docs/cache.md). A store keeps content-addressed blobs and,
 * per step fingerprint, one entry naming them. Stores move bytes and check digests; what an entry
 * means, who signed it and whether it is trusted is decided above them (src/cache/*), the same for
 * every backend: an OCI registry (oci-store.ts) and a Bazel-style HTTP /ac + /cas cache (http-store.ts).
 */
import type { Result } from '../core/result.js';

/** `sha256:<64 hex>`. */
export type Digest = `sha256:${string}`;

/** A blob an entry points at: the step record (config) or one output file (a layer). */
export interface BlobRef {
  readonly digest: Digest;
  readonly size: number;
  readonly mediaType: string;
  /** E.g. `org.opencontainers.image.title`: the output's path relative to the project. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * One step's cache entry. `key` is the step's fingerprint hash; signatures cover the canonical string
 * built from key, config digest and sorted layer digests (see sign.ts), never the serialized entry,
 * so every backend can store the signature inside the entry.
 */
export interface CacheEntry {
  readonly key: string;
  readonly config: BlobRef;
  readonly layers: readonly BlobRef[];
  /** Key name → base64 ed25519 signature. */
  readonly signatures: Readonly<Record<string, string>>;
  /** Backend-neutral extra fields the cache layer adds (stored and returned as they are). */
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * Which stored version this is, where the store can name one (OCI: the manifest digest), so a
   * delete removes exactly the version that was looked at, not one a writer put there since.
   * Set by readEntry; never written.
   */
  readonly revision?: string;
}

export interface StoreCallOptions {
  readonly signal: AbortSignal;
}

export interface CacheStore {
  /** For messages: `oci://127.0.0.1:5000/team/cache`, `http://127.0.0.1:8080/kiwibox`. */
  readonly name: string;
  /** The entry under `key` in `namespace` (undefined: none), exactly as stored. */
  readEntry(
    options: StoreCallOptions & { readonly namespace: string; readonly key: string },
  ): Promise<Result<CacheEntry | undefined>>;
  /** Whether the store already holds the blob (uploads skip it). */
  hasBlob(options: StoreCallOptions & { readonly digest: Digest }): Promise<Result<boolean>>;
  /**
   * Streams a blob into `file` (created or replaced) and verifies its size and digest while doing so:
   * a mismatch is a failure and leaves no file, whatever the server said.
   */
  fetchBlob(
    options: StoreCallOptions & {
      readonly blob: BlobRef;
      readonly file: string;
      /** The namespace of the entry naming the blob (an OCI registry keeps blobs per repository). */
      readonly namespace?: string;
    },
  ): Promise<Result<void>>;
  /** Uploads `file` as the blob `blob` (its digest and size already computed). */
  pushBlob(
    options: StoreCallOptions & { readonly blob: BlobRef; readonly file: string },
  ): Promise<Result<void>>;
  /** Makes the entry visible; called after every blob it names is stored. */
  writeEntry(
    options: StoreCallOptions & { readonly namespace: string; readonly entry: CacheEntry },
  ): Promise<Result<void>>;
  /** Releases connections (end of a run). */
  close?(): Promise<void>;
  /**
   * Removes an entry where the server allows deletes (`cache prune`); absent when it cannot. With
   * `revision` (from readEntry) only that stored version goes. A server that refuses deletes is
   * a `cache-delete-refused` failure.
   */
  deleteEntry?(
    options: StoreCallOptions & {
      readonly namespace: string;
      readonly key: string;
      readonly revision?: string;
    },
  ): Promise<Result<void>>;
  /** The keys of every entry in `namespace` (`cache prune`); absent when the store cannot list. */
  listEntries?(options: StoreCallOptions & { readonly namespace: string }): Promise<Result<string[]>>;
}
