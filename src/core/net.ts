/** Small networking helpers shared by the VM runner, the sshfs backend and the tests. */
import { createServer } from 'node:net';

/**
 * A free TCP port on 127.0.0.1: the OS picks it for a throwaway listener, which is closed again so
 * the caller (QEMU's host forward, a test registry) can bind it right after.
 */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
