/**
 * Receiving a blob: streamed to a temporary name beside its destination while hashed, renamed into
 * place only when size and digest are what the entry promised, removed otherwise.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';
import type { BlobRef } from './store.js';

/**
 * Writes `source` to `file` through a temporary name, hashing as it goes; only a body of the
 * promised size and digest is renamed into place.
 */
export async function verifiedWrite(options: {
  readonly source: NodeJS.ReadableStream;
  readonly blob: BlobRef;
  readonly file: string;
  readonly signal: AbortSignal;
}): Promise<Result<void>> {
  const { blob, file } = options;
  const partial = `${file}.partial-${process.pid}`;
  const hash = createHash('sha256');
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(options.source, counter, createWriteStream(partial), { signal: options.signal });
    const digest = `sha256:${hash.digest('hex')}`;
    if (size !== blob.size || digest !== blob.digest) {
      await rm(partial, { force: true });
      return failWith({
        reason: 'cache-digest-mismatch',
        message: `blob ${blob.digest}: got ${size} bytes with digest ${digest}, expected ${blob.size} bytes`,
      });
    }
    await rename(partial, file);
    return ok(undefined);
  } catch (error) {
    await rm(partial, { force: true });
    return failWith({
      reason: 'cache-http',
      message: `fetching blob ${blob.digest}: ${errorMessage(error)}`,
    });
  }
}
