import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/sftp/keys.js';

describe('build keys', () => {
  // ssh2 drops the leading zero byte of one ed25519 public key in 256 and cannot parse the result;
  // over 2,000 keys such a key shows up with a probability of 1 - (255/256)^2000 > 99.9 %.
  it('are always keys that ssh2 parses back', () => {
    const bad: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const pair = generateKeyPair('kiwibox-test');
      if (ssh2.utils.parseKey(pair.publicKey) instanceof Error) bad.push(pair.publicKey);
      if (ssh2.utils.parseKey(pair.privateKey) instanceof Error) bad.push('(private key)');
    }
    expect(bad).toEqual([]);
  });
});
