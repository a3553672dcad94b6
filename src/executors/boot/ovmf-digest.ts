/**
 * sha256 of an OVMF file, for the boot test's fingerprint: a firmware update (a new `ovmf` package)
 * must boot the image again. Remembered per process by the file's stat, so a run hashes each
 * firmware file once (~10 ms for the 4 MB pair).
 */
import { statSync } from 'node:fs';
import { errorMessage, failWith, ok, type Result } from '../../core/result.js';
import { sha256File } from '../../state/hash-cache.js';

const digests = new Map<string, Promise<string>>();

/** The file's sha256, or a failure naming it (replaced or unreadable between finding and hashing). */
export async function ovmfDigest(path: string, step: string): Promise<Result<string>> {
  try {
    const st = statSync(path);
    const key = `${path}:${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    let digest = digests.get(key);
    if (!digest) {
      digest = sha256File(path);
      digests.set(key, digest);
      // A failed read is not remembered: the next run tries again.
      digest.catch(() => digests.delete(key));
    }
    return ok(await digest);
  } catch (error) {
    return failWith({ step, reason: 'ovmf-missing', message: `cannot read ${path}: ${errorMessage(error)}` });
  }
}
