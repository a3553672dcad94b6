/**
 * The kernel command line of the official boxes' guest protocol (their `run_kiwi`): the box's own
 * parameters, the build arguments in `kiwi="…"`, `kiwi-no-halt`, and `name=_value_` variables. The
 * guest takes everything between the first pair of double quotes and splits it on spaces, and the
 * kernel keeps at most 2047 bytes, so what cannot be carried is rejected here instead of being
 * silently mangled in the guest.
 */
import { type Failure, fail, ok, type Result } from '../core/result.js';

/** The longest command line the kernel accepts (COMMAND_LINE_SIZE 2048 with the NUL); QEMU passes longer ones mute. */
export const KERNEL_CMDLINE_MAX = 2047;

export interface GuestCmdlineOptions {
  /** The box's own parameters (console=, root=, …). */
  readonly boxCmdline: string;
  /** kiwi-ng arguments: globals, `system build`, build options; without --description/--target-dir. */
  readonly kiwiArgs: readonly string[];
  /** Box variables (`sharing_backend`, `custom_mount`, …), written as `name=_value_`. */
  readonly variables?: Readonly<Record<string, string>>;
  /** Keep the guest running after the build (`kiwi-no-halt`). */
  readonly noHalt?: boolean;
  readonly step?: string;
}

/**
 * Failures (reason `kernel-cmdline`) for build arguments the guest protocol cannot carry: a `"` ends
 * the `kiwi="…"` value, and whitespace splits an argument in two. For the validator, which attaches
 * the YAML location.
 */
export function checkGuestArgs(options: {
  readonly kiwiArgs: readonly string[];
  readonly step?: string;
}): Failure[] {
  const failures: Failure[] = [];
  for (const arg of options.kiwiArgs) {
    if (arg.includes('"')) {
      failures.push({
        step: options.step,
        reason: 'kernel-cmdline',
        message: `the box protocol cannot carry a double quote in a kiwi-ng argument: ${arg}`,
      });
    } else if (/\s/.test(arg)) {
      failures.push({
        step: options.step,
        reason: 'kernel-cmdline',
        message: `the box protocol splits kiwi-ng arguments on spaces, so this one cannot be carried: ${JSON.stringify(arg)}`,
      });
    } else if (arg === '') {
      failures.push({
        step: options.step,
        reason: 'kernel-cmdline',
        message: 'an empty kiwi-ng argument cannot be carried',
      });
    }
  }
  return failures;
}

/** A failure (reason `kernel-cmdline`) if `cmdline` is longer than the kernel keeps. */
export function checkCmdlineLength(cmdline: string, step?: string): Failure[] {
  const bytes = Buffer.byteLength(cmdline, 'utf8');
  if (bytes <= KERNEL_CMDLINE_MAX) return [];
  return [
    {
      step,
      reason: 'kernel-cmdline',
      message: `the kernel command line would be ${bytes} bytes, over the kernel's limit of ${KERNEL_CMDLINE_MAX} (fewer or shorter kiwi-ng arguments)`,
    },
  ];
}

function checkVariables(variables: Readonly<Record<string, string>>, step?: string): Failure[] {
  const failures: Failure[] = [];
  for (const [name, value] of Object.entries(variables)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      failures.push({
        step,
        reason: 'kernel-cmdline',
        message: `box variable name ${JSON.stringify(name)} is not a shell name`,
      });
    }
    if (/[\s"]/.test(value) || value === '') {
      failures.push({
        step,
        reason: 'kernel-cmdline',
        message: `box variable ${name} cannot carry ${JSON.stringify(value)} (no spaces, no quotes, not empty)`,
      });
    }
  }
  return failures;
}

/** The full kernel command line, or every reason it cannot be built. */
export function buildGuestCmdline(options: GuestCmdlineOptions): Result<string> {
  const variables = options.variables ?? {};
  const failures = [...checkGuestArgs(options), ...checkVariables(variables, options.step)];
  if (options.boxCmdline.includes('"')) {
    failures.push({
      step: options.step,
      reason: 'kernel-cmdline',
      message: 'the box command line must not contain a double quote',
    });
  }
  if (failures.length > 0) return fail(failures);
  const parts = [options.boxCmdline.trim(), `kiwi="${options.kiwiArgs.join(' ')}"`].filter(
    (part) => part !== '',
  );
  if (options.noHalt) parts.push('kiwi-no-halt');
  for (const [name, value] of Object.entries(variables)) parts.push(`${name}=_${value}_`);
  const cmdline = parts.join(' ');
  const tooLong = checkCmdlineLength(cmdline, options.step);
  return tooLong.length > 0 ? fail(tooLong) : ok(cmdline);
}
