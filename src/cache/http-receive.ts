/**
 * Streams a response body into a new file while hashing it, writing and receiving in parallel, and
 * stops at the first byte past the expected size (a wrong blob must not fill the disk).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type Received =
  | { readonly kind: 'done'; readonly size: number; readonly digest: string }
  | { readonly kind: 'too-big' }
  | { readonly kind: 'write-error'; readonly error: unknown }
  | { readonly kind: 'read-error'; readonly error: unknown };

class TooBig extends Error {}

/** Writes `body` to `file` (created, never replaced); `limit` is the most bytes accepted. */
export async function receiveToFile(options: {
  body: Readable;
  file: string;
  limit: number;
}): Promise<Received> {
  const hash = createHash('sha256');
  let size = 0;
  const out = createWriteStream(options.file, { flags: 'wx', highWaterMark: 1 << 20 });
  let writeError: unknown;
  out.once('error', (error) => {
    writeError = error;
  });
  try {
    await pipeline(
      options.body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          size += chunk.length;
          if (size > options.limit) throw new TooBig();
          hash.update(chunk);
          yield chunk;
        }
      },
      out,
    );
  } catch (error) {
    if (error instanceof TooBig) return { kind: 'too-big' };
    if (writeError !== undefined) return { kind: 'write-error', error: writeError };
    return { kind: 'read-error', error };
  }
  return { kind: 'done', size, digest: `sha256:${hash.digest('hex')}` };
}
