/**
 * Per-build SSH keys for the sshfs share server: a host key for the embedded server and a client key
 * pair for the guest. Everything lives in memory or in the run's temp dir; nothing is read from or
 * written under ~/.ssh, so a build never widens the user's own login.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';

const { utils } = ssh2;

/** An ed25519 key pair in OpenSSH formats. */
export interface KeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` text, as ssh2 and OpenSSH read it. */
  readonly privateKey: string;
  /** `ssh-ed25519 AAAA… comment` line, as authorized_keys holds it. */
  readonly publicKey: string;
}

/** The keys one build uses: never shared between builds. */
export interface BuildKeys {
  /** The embedded server's identity. */
  readonly host: KeyPair;
  /** The only key the server accepts; the guest authenticates with its private half. */
  readonly client: KeyPair;
}

/** A fresh ed25519 pair; `comment` ends up in the public line (e.g. `kiwibox-<step>`). */
export function generateKeyPair(comment = 'kiwibox'): KeyPair {
  // ssh2 1.x writes an ed25519 key whose public half starts with a zero byte with that byte dropped
  // (one key in 256), and then cannot parse it back: such a pair is drawn again.
  for (let attempt = 0; attempt < 32; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    if (!(utils.parseKey(pair.public) instanceof Error) && !(utils.parseKey(pair.private) instanceof Error)) {
      return { privateKey: pair.private, publicKey: pair.public };
    }
  }
  throw new Error('ssh2 generated 32 ed25519 keys in a row that it cannot parse');
}

/** Host and client key pairs for one build. */
export function generateBuildKeys(options: { readonly comment?: string } = {}): BuildKeys {
  const comment = options.comment ?? 'kiwibox';
  return { host: generateKeyPair(`${comment}-host`), client: generateKeyPair(`${comment}-client`) };
}

/**
 * The wire blob (`string algo, string key`) of an OpenSSH public key line or private key, used to
 * compare what a client offers against what the build allows. Undefined if the key does not parse.
 */
export function publicKeyBlob(key: string | Buffer): Buffer | undefined {
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) return undefined;
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  return first?.getPublicSSH();
}

/**
 * Writes a private key for an SSH client (OpenSSH `ssh -i`, sshfs `-o IdentityFile=`) into `dir`
 * with mode 0600 (OpenSSH refuses keys others can read). Returns the file's path.
 */
export async function writePrivateKeyFile(options: {
  readonly dir: string;
  readonly key: KeyPair;
  readonly name?: string;
}): Promise<Result<string>> {
  const file = join(options.dir, options.name ?? 'kiwibox_sshfs_key');
  try {
    await writeFile(file, options.key.privateKey, { mode: 0o600, flag: 'wx' });
    // The umask cannot widen 0600, but an existing file's mode could: `wx` refuses those anyway.
    await chmod(file, 0o600);
    return ok(file);
  } catch (error) {
    return failWith({
      reason: 'sshfs-key-write-failed',
      message: `cannot write ${file}: ${errorMessage(error)}`,
    });
  }
}
