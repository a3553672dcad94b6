/**
 * sha256 of an OVMF file, for the boot test's fingerprint: a firmware update (a new `ovmf` package)
 * must boot the image again. Remembered per process by the file's stat, so a run hashes each
 * firmware file once (~10 ms for the 4 MB pair).
 */
import { statSync } from 'node:fs';
import { sha256File } from '../../state/hash-cache.js';

const digests = new Map<string, Promise<string>>();

export function ovmfDigest(path: string): Promise<string> {
  const st = statSync(path);
  const key = `${path}:${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  let digest = digests.get(key);
  if (!digest) {
    digest = sha256File(path);
    digests.set(key, digest);
  }
  return digest;
}
