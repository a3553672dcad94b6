/**
 * The validated, normalised pipeline: what the analyzer produces from kiwibox.yaml and every later
 * stage consumes. Paths are absolute. Each step keeps the locations of its fields so that a failure
 * found late (at run time) can still point into the YAML.
 */
import type { Location } from './result.js';

export type StepKind = 'box' | 'build' | 'stash' | 'stack' | 'task' | 'boot-test';
export type Arch = 'x86_64' | 'aarch64';
export type Sharing = '9p' | 'virtiofs' | 'sshfs';

interface StepBase {
  readonly id: string;
  /** Ids of the steps this one depends on (box, root, images, needs), sorted, no duplicates. */
  readonly deps: readonly string[];
  /** The step's key in kiwibox.yaml. */
  readonly location: Location;
  /** Location of each field's value, by YAML key (`description`), and of list items (`needs.0`). */
  readonly fields: Readonly<Record<string, Location>>;
}

/** A build VM. `source` says where kernel/initrd/disk come from. */
export interface BoxStep extends StepBase {
  readonly kind: 'box';
  /** official: a box by name from the upstream registry; local: files; host: the host's own kernel + /usr. */
  readonly source: 'official' | 'local' | 'host';
  /** Upstream box name (official) or the step id. */
  readonly name: string;
  readonly kernel?: string;
  readonly initrd?: string;
  readonly disk?: string;
  readonly cmdline?: string;
  /** Memory as QEMU takes it: `1G`, `512M`. */
  readonly memory: string;
  readonly cpus: number;
  readonly arch: Arch;
  readonly accel: 'auto' | 'kvm' | 'tcg';
  /** The raw YAML mapping, for keys later issues add. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** `kiwi-ng system build`, on the host (no box) or inside a box. */
export interface BuildStep extends StepBase {
  readonly kind: 'build';
  readonly description: string;
  readonly targetDir: string;
  readonly type?: string;
  readonly profiles: readonly string[];
  readonly kiwiArgs: readonly string[];
  readonly box?: string;
  readonly sharing: Sharing;
  /** Seconds before a boxed build is powered off and failed. */
  readonly timeout: number;
}

/** A root tree saved as an OCI image `localhost/<name>:<tag>`. */
export interface StashStep extends StepBase {
  readonly kind: 'stash';
  /** `build` names a build step (its image root); `dir` is a directory. */
  readonly root: { readonly build: string } | { readonly dir: string };
  readonly name: string;
  readonly tag: string;
  readonly push?: { readonly registry: string; readonly tlsVerify: boolean };
}

/** Images stacked in order into one root, then built. */
export interface StackStep extends StepBase {
  readonly kind: 'stack';
  /** `stash` names a stash step; `ref` is a fully qualified image reference. */
  readonly images: readonly ({ readonly stash: string } | { readonly ref: string })[];
  readonly fromRegistry?: string;
  readonly description?: string;
  readonly targetDir: string;
  readonly box?: string;
  readonly type?: string;
  readonly profiles: readonly string[];
  readonly kiwiArgs: readonly string[];
  /** rsync -K: keep directory symlinks of lower images (usr-merged bases). */
  readonly keepDirlinks: boolean;
}

/** Any command, make-style. */
export interface TaskStep extends StepBase {
  readonly kind: 'task';
  /** argv list, or a string run by `sh -c`. */
  readonly run: readonly string[] | string;
  /** Glob patterns relative to the project dir. */
  readonly inputs: readonly string[];
  /** Paths (or globs) relative to the project dir. */
  readonly outputs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Boots a built disk or iso under QEMU and waits for patterns on its serial console. */
export interface BootTestStep extends StepBase {
  readonly kind: 'boot-test';
  /** The build or stack step whose kiwi.result.json names the disk or iso. */
  readonly image: string;
  /** As written; unset: from the image's kiwi type (see executors/boot/image-type.ts). */
  readonly firmware?: 'bios' | 'uefi';
  readonly memory: string;
  readonly cpus: number;
  readonly accel: 'auto' | 'kvm' | 'tcg';
  /** Patterns to see on the console, in order: substrings, or `/regex/flags`. */
  readonly expect: readonly string[];
  /** Patterns that fail the boot at once (the defaults unless `default-fail-on: false`, then the user's). */
  readonly failOn: readonly string[];
  /** Seconds before the VM is powered off and the test failed. */
  readonly timeout: number;
}

export type Step = BoxStep | BuildStep | StashStep | StackStep | TaskStep | BootTestStep;

/** How podman is called: the user's store and per-registry TLS (kiwibox.yaml `podman:`, env overrides). */
export interface PodmanSettings {
  /** `--root`: image store; unset = podman's default. */
  readonly root?: string;
  /** `--runroot`. */
  readonly runroot?: string;
  /** `--storage-driver` (overlay, vfs). */
  readonly storageDriver?: string;
  /** `--tmpdir` and TMPDIR for import/pull spool files. */
  readonly tmpdir?: string;
  /** Per registry host[:port]: `tls-verify: false` for a plain-HTTP registry on 127.0.0.1. */
  readonly registries: Readonly<Record<string, { readonly tlsVerify: boolean }>>;
}

/**
 * `slurm:` in kiwibox.yaml: which steps run as Slurm jobs, and how they are submitted. The node runs
 * the step through kiwibox itself, on the same (shared) project directory or, without a shared
 * filesystem, on its own working copy with data moving through the team cache.
 */
export interface SlurmSettings {
  readonly partition?: string;
  readonly account?: string;
  /** Seconds (srun --time, rounded up to minutes). */
  readonly timeLimit?: number;
  /** Extra srun arguments, given after kiwibox's own. */
  readonly srunArgs: readonly string[];
  /** Step ids sent to Slurm; with `kinds`, a step goes if either names it; both empty: every step. */
  readonly steps: readonly string[];
  readonly kinds: readonly StepKind[];
  /** Slurm jobs in flight at once (they take no local -j slots). */
  readonly maxJobs: number;
  /** Resubmissions after a node failure (kiwibox's own retry; Slurm's requeue is off). */
  readonly retries: number;
  /** Boxed steps ask for `--constraint=<arch>` (nodes carry Features=x86_64, aarch64). */
  readonly archConstraint: boolean;
  /** False: nodes have their own working copy (`nodeProjectDir`); data moves through the team cache. */
  readonly sharedFilesystem: boolean;
  /** Where the project's working copy is on the nodes (no shared filesystem); default: the same path. */
  readonly nodeProjectDir?: string;
}

/** A trusted ed25519 public key of the team cache (`name:base64`, the Nix form), where it was written. */
export interface TrustedKey {
  readonly name: string;
  /** The raw 32-byte public key, base64. */
  readonly key: string;
  readonly location?: Location;
}

/** kiwibox.yaml `cache:` (docs/cache.md); flags and env override it at run time (src/cache/settings.ts). */
export interface CacheSection {
  /** `HOST[:PORT]/REPO` (an OCI registry repository) or an `http(s)://` URL. */
  readonly store?: string;
  readonly mode?: 'read-write' | 'read-only' | 'off';
  readonly trustedKeys: readonly TrustedKey[];
  /** Untrusted writers (pull requests) write here; readers without it never read it. */
  readonly writeNamespace?: string;
  /** Where `cache:` is written. */
  readonly location?: Location;
}

export interface Project {
  /** Absolute path of kiwibox.yaml. */
  readonly file: string;
  /** Directory of kiwibox.yaml: relative paths and task cwd resolve against it. */
  readonly dir: string;
  /** `.kiwibox/` beside the file: fingerprints, logs, locks. */
  readonly stateDir: string;
  readonly podman: PodmanSettings;
  /** Set when kiwibox.yaml has a `slurm:` section. */
  readonly slurm?: SlurmSettings;
  /** `cache:` as written; absent: no section. */
  readonly cache?: CacheSection;
  /** Steps in declaration order. */
  readonly steps: ReadonlyMap<string, Step>;
}
