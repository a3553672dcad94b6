#!/usr/bin/env node
// Entry point: the compiled CLI (npm run build). Internal bugs surface as exceptions, on purpose.
import { main } from '../dist/cli/main.js';

// A reader that went away (`kiwibox plan | head`) is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
process.exitCode = await main(process.argv.slice(2));
