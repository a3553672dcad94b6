/**
 * Every failure reason kiwibox reports (`error[REASON]` in text, `reason` in NDJSON), with the one
 * line that docs/reasons.md shows for it (scripts/reasons-doc.mjs writes that file from here).
 * Adding a reason is adding its line to the right group.
 */
export const REASONS = {
  config: {
    'yaml-syntax': 'kiwibox.yaml is not well-formed YAML',
    'missing-file': 'kiwibox.yaml (or a file it names) cannot be read',
    'unknown-key': 'a key the schema does not know (keys starting with x- are ignored)',
    'missing-key': 'a required key is missing',
    'wrong-type': 'a value of the wrong type (a string where a list is needed, …)',
    'invalid-value':
      'a value outside what the key allows (not one of the choices, not a valid name, an empty file, …)',
    'unset-variable':
      'a variable reference ($NAME in braces) whose variable is not set and has no default, or one with :? whose variable is unset or empty',
    'bad-variable': 'a malformed variable reference ($ and braces)',
    'duplicate-id': 'two steps with the same name',
    'unknown-step': 'a name that is not a step of this file',
    'wrong-step-kind': 'a reference to a step of the wrong kind (a box where a build is needed, …)',
    cycle: 'steps that depend on each other in a loop',
    'unknown-root': 'a stash root that is neither a build step nor a directory',
    'unknown-stash': 'a stack image naming a stash that does not exist',
    'no-stash': 'a stack without any stash image',
    'short-image-name': 'an image reference without a registry host',
    'invalid-image-name': 'an image name podman does not accept',
    'invalid-image-tag': 'an image tag podman does not accept',
    'stash-name-missing': 'a stash whose image name is neither given nor found in its root',
    'bad-registry': 'a malformed registry setting',
    'bad-cache-key':
      'a team cache key (trusted key or signing key) that does not parse or that others can read',
    'bad-cache-setting':
      'a malformed team cache setting (store, mode, namespace) in kiwibox.yaml, a flag or a variable',
    'missing-option': 'a required option of a compatibility command is missing',
    'conflicting-option':
      'a compatibility command given the same setting twice (e.g. --type before and after it)',
  },
  kiwi: {
    'missing-description':
      'no KIWI description (config.xml, image/config.xml or *.kiwi) where one is expected',
    'invalid-kiwi-xml': 'the KIWI description cannot be read as XML, or lacks what kiwibox needs from it',
    'unknown-type': 'a build type the description does not define',
    'unknown-profile': 'a profile the description does not define',
    'no-build-type': 'no build type applies with the selected profiles (kiwi-ng refuses it the same way)',
    'kiwi-schema':
      "the description breaks the installed kiwi-ng's own schema (after its upgrade of older versions)",
    'bootstrap-into-existing-root': 'a build that would bootstrap into a root tree that already exists',
    'unknown-kiwi-option': 'a kiwi-ng option kiwibox does not know',
    'malformed-kiwi-option': 'a kiwi-ng option with a missing or malformed value',
    'kiwibox-owned-option': 'a kiwi-ng option that kiwibox sets itself',
    'kiwi-option-not-for-create': 'a kiwi-ng option that does not apply to `system create`',
    'kernel-cmdline': 'build arguments the guest kernel command line cannot carry',
    'kiwi-failed': 'kiwi-ng ended with an error',
    'result-missing':
      'a build ended without the result it must leave (kiwi result files, bundle, result code)',
    'result-unreadable': "kiwi-ng's result file cannot be read",
    'result-code-unreadable': "the box's result code is not a number",
  },
  run: {
    'no-executor': 'no executor for this kind of step in this build of kiwibox',
    'internal-error': 'a bug in kiwibox: an executor threw instead of returning a failure',
    locked: 'another kiwibox process is running the step',
    'lock-error': 'the step lock cannot be taken',
    'missing-output': 'a declared output was not produced',
    'needs-root': 'the step needs root privileges',
    'spawn-error': 'a program cannot be started (not installed?)',
    'exit-non-zero': 'a program exited with a non-zero code',
    signal: 'a program was killed by a signal',
    timeout: 'a program did not finish in time',
    cancelled: 'stopped by Ctrl-C or because another step failed',
    'image-mount-failed': 'a build image cannot be mounted',
  },
  box: {
    'bad-box-registry': 'a malformed box registry file',
    'bad-box-source': 'a box source (URL, file) kiwibox cannot use',
    'unknown-box': 'a box name no registry knows',
    'box-missing': 'a box that is not in the box store',
    'box-not-fetched': 'a box that was never fetched (run its box step first)',
    'missing-box-file': 'a file of a local box that does not exist',
    'box-arch-unavailable': 'a box not offered for the requested architecture',
    'box-kernel-missing': 'a box without a kernel to boot',
    'box-build-failed': 'a box could not be built',
    'box-store-error': 'the box store cannot be read or written',
    'checksum-mismatch': 'a download whose digest does not match',
    'bad-checksum-file': 'a published checksum file without a digest',
    'download-failed': 'a download failed',
    'digest-error': 'a file that cannot be hashed',
    'host-box-arch': 'the host box exists only for the host architecture',
    'host-box-unavailable': 'the host box cannot be made on this machine',
    'host-kernel-unavailable': "the host's kernel cannot be had for the host box",
    'kvm-unavailable': 'KVM was asked for but does not work here',
    'qemu-failed': 'QEMU ended with an error',
    'vm-error': 'the VM could not be booted or watched',
    'stack-in-box-unsupported': 'stacks cannot run inside a box',
  },
  sharing: {
    'virtiofs-needs-root': 'virtiofs sharing needs root',
    'virtiofsd-missing': 'virtiofsd is not installed',
    'virtiofsd-failed': 'virtiofsd did not start or died',
    'sshfs-key-write-failed': 'the per-build SSH key cannot be written',
    'sshfs-server-bad-key': 'the per-build SSH key cannot be parsed',
    'sshfs-server-bad-share': 'a share the SFTP server cannot serve',
    'sshfs-server-listen-failed': 'the SFTP server cannot listen',
    'sshfs-share-failed': 'sshfs sharing could not be set up',
  },
  podman: {
    'image-not-found': 'an image that is not in the podman store',
    'image-unresolvable': 'an image reference whose digest cannot be resolved',
    'root-unavailable': 'a stash root that cannot be had (not a build, inside a box, not there)',
    'tar-failed': 'tar failed while packing a root tree',
    'rsync-failed': 'rsync failed while stacking images',
    'push-unconfirmed': 'a push that the registry did not confirm',
    'podman-list-failed': 'podman images (listing stashes) failed',
    'podman-import-failed': 'podman import failed',
    'podman-create-failed': 'podman create failed',
    'podman-mount-failed': 'podman mount failed',
    'podman-commit-failed': 'podman commit failed',
    'podman-unmount-failed': 'podman unmount failed',
    'podman-pull-failed': 'podman pull failed',
    'podman-push-failed': 'podman push failed',
    'image-umount-failed': 'podman image unmount failed',
    'container-cleanup-failed': 'a work container could not be removed',
  },
  httpcache: {
    'http-cache-url':
      'an HTTP cache URL that is not http(s)://host[:port][/prefix], or that carries credentials (they come from the environment or netrc)',
    'http-cache-credentials':
      'HTTP cache credentials that are incomplete or cannot be read (KIWIBOX_CACHE_HTTP_USER/PASSWORD, netrc)',
    'http-cache-ca': 'the CA file for the HTTP cache cannot be read',
    'http-cache-bad-name': 'a namespace or key that cannot be part of an HTTP cache URL',
    'http-cache-unreachable': 'the HTTP cache cannot be reached (connection refused, timed out, reset)',
    'http-cache-tls':
      "the HTTP cache's TLS certificate is not trusted (give its CA file) or the handshake failed",
    'http-cache-denied': 'the HTTP cache refused the request (401 or 403: credentials missing or wrong)',
    'http-cache-status': 'the HTTP cache answered with a status kiwibox does not expect',
    'http-cache-bad-entry': 'an /ac value that is not a kiwibox cache entry for its key',
    'http-cache-blob-missing': 'a blob an entry names is not in the HTTP cache',
    'http-cache-digest-mismatch': 'a blob from the HTTP cache whose size or sha256 is not what its name says',
    'http-cache-file-error': 'a local file cannot be read or written while moving a blob',
  },
  slurm: {
    'slurm-unreachable': 'the Slurm controller does not answer (checked before anything runs)',
    'slurm-rejected': "Slurm refused the step's job at submit (unknown partition or feature, …)",
    'slurm-cancelled': "the step's Slurm job was cancelled (scancel, an administrator)",
    'slurm-node-failed': "the node running the step's Slurm job failed",
    'slurm-time-limit': "the step's Slurm job ran out of its time limit",
    'slurm-job-failed': "the step's Slurm job ended without a result from kiwibox on the node",
    'slurm-result-unreadable': 'the result the node wrote for the step cannot be read',
    'slurm-node-inputs-differ':
      "without a shared filesystem: the node's working copy gives the step another fingerprint than the submitting side (other input files, config or box); refused, nothing ran",
    'slurm-node-version':
      'without a shared filesystem: kiwibox on the node is another version than the submitting one; refused, nothing ran',
    'slurm-upstream-not-cached':
      "without a shared filesystem: a dependency's outputs cannot reach the node (not in the team cache and this run cannot upload them, or not cacheable)",
    'slurm-node-cache':
      'without a shared filesystem: the node cannot use the team cache (none configured there, read-only, an entry missing, the upload failed)',
    'slurm-result-not-in-cache':
      "without a shared filesystem: the job completed but the step's entry cannot be restored and verified from the team cache",
  },
  cache: {
    'cache-http': 'the team cache server answered with an error or not at all',
    'cache-digest-mismatch': 'a team cache blob whose size or digest is not what its entry says',
    'cache-io': 'a local file of the team cache cannot be read or written',
    'cache-cannot-list':
      'cache prune on a store that cannot list its entries (the HTTP cache; prune it with its own tools)',
    'cache-delete-refused':
      'the team cache registry does not allow deletes (docker-registry: storage.delete.enabled)',
  },
  boot: {
    'bad-pattern': 'a boot test pattern that is not a valid /regex/',
    'bad-timeout': 'a boot test timeout that is not a positive duration',
    'image-not-bootable': 'a boot test image step that makes no disk or iso (a tbz build, …)',
    'image-result-unreadable': "the image step's kiwi.result.json cannot be read",
    'firmware-mismatch': 'firmware: uefi for an image that is BIOS-only (or the reverse)',
    'ovmf-missing': 'UEFI firmware (OVMF, package ovmf) is not installed',
    'boot-failed': 'a fail-on pattern (kernel panic, emergency mode, …) appeared on the console',
    'boot-timeout': 'the expected patterns did not all appear before the timeout',
    'boot-ended': 'the guest powered off or QEMU ended before every pattern was seen',
  },
} as const;

type Catalogue = typeof REASONS;

/** A failure reason: one of the codes above. */
export type FailureReason = { [G in keyof Catalogue]: keyof Catalogue[G] }[keyof Catalogue];

/** The catalogue group a reason belongs to (docs/reasons.md has one section per group). */
export type ReasonGroup = keyof Catalogue;
