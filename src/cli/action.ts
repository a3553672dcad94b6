/**
 * The one path from a command to the exit code. Every command's action returns Promise<number>
 * (0 ok, 1 a step failed, 2 bad input, 130 interrupted); commander discards action results, so the
 * wrapper below keeps the code on the root program for `main` to return.
 */
import type { Command } from 'commander';

const codes = new WeakMap<Command, number>();

function root(command: Command): Command {
  let top = command;
  while (top.parent) top = top.parent;
  return top;
}

/** Sets `command`'s action; the number `action` resolves to becomes the exit code. */
export function onAction<A extends unknown[]>(
  command: Command,
  action: (...args: A) => Promise<number>,
): Command {
  return command.action(async (...args: unknown[]) => {
    codes.set(root(command), await action(...(args as A)));
  });
}

/** The exit code of the command that ran under `program`, if one ran. */
export function exitCodeOf(program: Command): number | undefined {
  return codes.get(program);
}
