/**
 * Just enough QMP to power a VM off: connect to its unix socket, leave capability negotiation, and
 * send `quit`. Best effort with a deadline; the caller falls back to signals.
 */
import { connect } from 'node:net';

/** Sends `quit` over QMP; resolves true if QEMU accepted it within `timeoutMs`. */
export function qmpQuit(socketPath: string, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let buffer = '';
    let stage: 'greeting' | 'capabilities' | 'quit' = 'greeting';
    const finish = (accepted: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(accepted);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('error', () => finish(false));
    // QEMU closing the socket right after `quit` is the success case too.
    socket.on('close', () => finish(stage === 'quit'));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        if (line === '') continue;
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (stage === 'greeting' && 'QMP' in message) {
          stage = 'capabilities';
          socket.write('{"execute":"qmp_capabilities"}\n');
        } else if (stage === 'capabilities' && 'return' in message) {
          stage = 'quit';
          socket.write('{"execute":"quit"}\n');
        } else if (stage === 'quit' && 'return' in message) {
          finish(true);
        } else if ('error' in message) {
          finish(false);
        }
      }
    });
  });
}
