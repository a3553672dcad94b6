/**
 * Follows a log file another process writes (kiwi-ng's debug log): polls its size, reads what was
 * added, hands over complete lines. Polling, because the file may not exist yet and may live on a
 * share where file events do not arrive.
 */
import { open } from 'node:fs/promises';

export interface LogTail {
  /** Reads what is left, then stops. */
  stop(): Promise<void>;
}

export function tailLog(options: {
  readonly file: string;
  readonly onLine: (line: string) => void;
  readonly intervalMs?: number;
}): LogTail {
  let offset = 0;
  let partial = '';
  let busy: Promise<void> = Promise.resolve();
  const read = async (): Promise<void> => {
    const handle = await open(options.file, 'r').catch(() => undefined);
    if (!handle) return;
    try {
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        if (!bytesRead) break;
        offset += bytesRead;
        const lines = (partial + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) options.onLine(line);
      }
    } finally {
      await handle.close();
    }
  };
  const timer = setInterval(() => {
    busy = busy.then(read, read);
  }, options.intervalMs ?? 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await busy.catch(() => undefined);
      await read().catch(() => undefined);
    },
  };
}
