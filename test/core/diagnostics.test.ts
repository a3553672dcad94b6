/**
 * Bad kiwibox.yaml files: every problem is reported at once, as file:line:col: error[reason], with
 * the source line and a marker. These tests assert the exact text users see.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/load.js';
import { diagnoseIn } from '../support/diagnose.js';
import { MINIMAL_KIWI, TempProject } from '../support/project.js';

const project = new TempProject();
afterAll(() => project.remove());
function diagnose(yaml: string, env: Record<string, string> = {}): Promise<string> {
  return diagnoseIn({ project, yaml, files: { 'desc/config.xml': MINIMAL_KIWI }, env });
}

describe('diagnostics', () => {
  it('reports YAML syntax errors at their position', async () => {
    expect(await diagnose('version: 1\ntasks:\n  a: {run: [x]\n')).toMatchInlineSnapshot(`
      "kiwibox.yaml:4:1: error[yaml-syntax]: Flow map in block collection must be sufficiently indented and end with a }
          4 | 
            | ^"
    `);
  });

  it('reports duplicate keys', async () => {
    expect(await diagnose('version: 1\ntasks:\n  a: {run: x}\n  a: {run: y}\n')).toMatchInlineSnapshot(`
      "kiwibox.yaml:4:3: error[yaml-syntax]: Map keys must be unique
          4 |   a: {run: y}
            |   ^"
    `);
  });

  it('reports unknown keys at the key, missing keys at the step, wrong types at the value', async () => {
    const text = [
      'version: 1',
      'builds:',
      '  base:',
      '    description: desc',
      '    taget-dir: out',
      'tasks:',
      '  t:',
      '    run: 42',
      '    outputs: out.txt',
    ].join('\n');
    expect(await diagnose(text)).toMatchInlineSnapshot(`
      "kiwibox.yaml:3:3: error[missing-key]: builds.base is missing the required key 'target-dir'
          3 |   base:
            |   ^^^^
      kiwibox.yaml:5:5: error[unknown-key]: unknown key 'taget-dir' in builds.base
          5 |     taget-dir: out
            |     ^^^^^^^^^
      kiwibox.yaml:8:10: error[wrong-type]: tasks.t.run must be string or array
          8 |     run: 42
            |          ^^
      kiwibox.yaml:9:14: error[wrong-type]: tasks.t.outputs must be array
          9 |     outputs: out.txt
            |              ^^^^^^^"
    `);
  });

  it('reports a wrong version and an invalid enum value', async () => {
    const text = 'version: 2\nbuilds:\n  b: {description: desc, target-dir: out, sharing: nfs}\n';
    expect(await diagnose(text)).toMatchInlineSnapshot(`
      "kiwibox.yaml:1:10: error[invalid-value]: version must be 1
          1 | version: 2
            |          ^
      kiwibox.yaml:3:52: error[invalid-value]: builds.b.sharing must be one of "9p", "virtiofs", "sshfs"
          3 |   b: {description: desc, target-dir: out, sharing: nfs}
            |                                                    ^^^"
    `);
  });

  it('reports invalid step and image names', async () => {
    expect(
      await diagnose('version: 1\nstashes:\n  Base-Root: {root: desc}\ntasks:\n  "-x": {run: y}\n'),
    ).toMatchInlineSnapshot(`
      "kiwibox.yaml:3:3: error[invalid-value]: 'Base-Root' is not a valid name: image names are lower-case letters and digits, separated by single . _ or -
          3 |   Base-Root: {root: desc}
            |   ^^^^^^^^^
      kiwibox.yaml:5:3: error[invalid-value]: '-x' is not a valid name: use letters, digits, . _ and -, starting with a letter or digit
          5 |   "-x": {run: y}
            |   ^^^^"
    `);
  });

  it('reports unknown references and wrong kinds with the declaration', async () => {
    const text = [
      'version: 1',
      'tasks:',
      '  smoke:',
      '    needs: [bsae]',
      '    run: ["true"]',
      'builds:',
      '  b:',
      '    box: smoke',
      '    description: desc',
      '    target-dir: out',
    ].join('\n');
    expect(await diagnose(text)).toMatchInlineSnapshot(`
      "kiwibox.yaml:8:10: error[wrong-step-kind]: box 'smoke' is a task, not a box
          8 |     box: smoke
            |          ^^^^^
        kiwibox.yaml:3:3: note: 'smoke' is declared here
      kiwibox.yaml:4:13: error[unknown-step]: needed step 'bsae' is not a step in this file
          4 |     needs: [bsae]
            |             ^^^^"
    `);
  });

  it('reports duplicate ids across sections', async () => {
    expect(
      await diagnose(
        'version: 1\nbuilds:\n  x: {description: desc, target-dir: out}\ntasks:\n  x: {run: y}\n',
      ),
    ).toMatchInlineSnapshot(`
      "kiwibox.yaml:5:3: error[duplicate-id]: step id 'x' is already used by a build; ids are unique across all sections
          5 |   x: {run: y}
            |   ^
        kiwibox.yaml:3:3: note: first declared here"
    `);
  });

  it('reports a cycle with every edge located', async () => {
    const text =
      'version: 1\ntasks:\n  a: {run: x, needs: [c]}\n  b: {run: x, needs: [a]}\n  c: {run: x, needs: [b]}\n';
    expect(await diagnose(text)).toMatchInlineSnapshot(`
      "kiwibox.yaml:3:23: error[cycle]: dependency cycle: a -> c -> b -> a
          3 |   a: {run: x, needs: [c]}
            |                       ^
        kiwibox.yaml:3:23: note: 'a' depends on 'c' here
        kiwibox.yaml:5:23: note: 'c' depends on 'b' here
        kiwibox.yaml:4:23: note: 'b' depends on 'a' here"
    `);
  });

  it('reports unset variables where they are used', async () => {
    const text = 'version: 1\ntasks:\n  a:\n    run: ["echo", "${NOPE_UNSET}/x"]\n';
    expect(await diagnose(text)).toMatchInlineSnapshot(`
      "kiwibox.yaml:4:20: error[unset-variable]: environment variable NOPE_UNSET is not set
          4 |     run: ["echo", "\${NOPE_UNSET}/x"]
            |                    ^^^^^^^^^^^^^"
    `);
    expect(await diagnose('version: 1\ntasks:\n  a: {run: "echo ${HOME_X}"}\n', { HOME_X: '/h' })).toBe('ok');
  });

  it('checks descriptions: missing dir, bad XML, unknown type and profile', async () => {
    project.write({ 'bad/config.kiwi': '<image name="x">\n  <preferences>\n</image>\n' });
    const text = [
      'version: 1',
      'builds:',
      '  nodir: {description: nothere, target-dir: out1}',
      '  badxml: {description: bad, target-dir: out2}',
      '  typo:',
      '    description: desc',
      '    target-dir: out3',
      '    type: iso',
      '    profiles: [Default, Big]',
    ].join('\n');
    expect(await diagnose(text)).toMatchInlineSnapshot(`
      "kiwibox.yaml:3:24: error[missing-description]: description directory nothere does not exist
          3 |   nodir: {description: nothere, target-dir: out1}
            |                        ^^^^^^^
      bad/config.kiwi:3:1: error[invalid-kiwi-xml]: Expected closing tag 'preferences' (opened in line 2, col 3) instead of closing tag 'image'
          3 | </image>
            | ^
        kiwibox.yaml:4:25: note: description used here
      kiwibox.yaml:9:25: error[unknown-profile]: profile 'Big' is not declared in desc/config.xml (it has: Default, Small)
          9 |     profiles: [Default, Big]
            |                         ^^^
      kiwibox.yaml:8:11: error[unknown-type]: type 'iso' is not declared in desc/config.xml for the applied profiles ['Default'] (it has: tbz, oem)
          8 |     type: iso
            |           ^^^"
    `);
  });

  it('expands ${NAME:-default} and ${NAME-default} as compose and the shell do', async () => {
    const text = [
      'version: 1',
      'tasks:',
      '  a:',
      '    run: ["echo", "${KB_UNSET:-fallback}", "${KB_EMPTY:-empty-default}", "${KB_EMPTY-kept}", "${KB_SET:-x}/y"]',
    ].join('\n');
    project.write({ 'defaults.yaml': text });
    const loaded = await loadProject({
      file: project.path('defaults.yaml'),
      env: { KB_EMPTY: '', KB_SET: 'set' },
    });
    expect(loaded.ok && loaded.value.project.steps.get('a')).toMatchObject({
      run: ['echo', 'fallback', 'empty-default', '', 'set/y'],
    });
  });

  it('reports ${NAME:?message} with its message where it is used, when unset or empty', async () => {
    const text = [
      'version: 1',
      'tasks:',
      '  a:',
      '    run: ["echo", "${KB_MIRROR:?set KB_MIRROR to your Debian mirror}", "${KB_EMPTY?unused}", "${KB_EMPTY:?}"]',
    ].join('\n');
    expect(await diagnose(text, { KB_EMPTY: '' })).toMatchInlineSnapshot(`
      "kiwibox.yaml:4:20: error[unset-variable]: environment variable KB_MIRROR is not set: set KB_MIRROR to your Debian mirror
          4 |     run: ["echo", "\${KB_MIRROR:?set KB_MIRROR to your Debian mirror}", "\${KB_EMPTY?unused}", "\${KB_EMPTY:?}"]
            |                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      kiwibox.yaml:4:95: error[unset-variable]: environment variable KB_EMPTY is empty
          4 |     run: ["echo", "\${KB_MIRROR:?set KB_MIRROR to your Debian mirror}", "\${KB_EMPTY?unused}", "\${KB_EMPTY:?}"]
            |                                                                                               ^^^^^^^^^^^^^"
    `);
  });

  it('ignores x- keys wherever an object takes keys, and keeps them out of the steps', async () => {
    const plain = [
      'version: 1',
      'podman:',
      '  registries:',
      '    x-reg.localhost:5000: {tls-verify: false}',
      'boxes:',
      '  vm: {snapshot: false}',
      'builds:',
      '  b: {description: desc, target-dir: out, box: vm}',
      'stashes:',
      '  s: {root: b, push: {registry: "x-reg.localhost:5000"}}',
      'tasks:',
      '  t: {run: [echo], env: {x-var: kept}}',
    ];
    const extended = [
      'version: 1',
      'x-top: 1',
      'podman:',
      '  x-note: podman settings',
      '  registries:',
      '    x-reg.localhost:5000: {tls-verify: false, x-why: local}',
      'boxes:',
      '  vm: {snapshot: false, x-owner: me}',
      'builds:',
      '  b: {description: desc, target-dir: out, box: vm, x-anchor: &a [1, 2]}',
      'stashes:',
      '  s: {root: b, push: {registry: "x-reg.localhost:5000", x-mirror: no}, x-a: *a}',
      'tasks:',
      '  t: {run: [echo], env: {x-var: kept}, x-doc: {any: thing}}',
    ];
    project.write({
      'plain.yaml': plain.join('\n'),
      'extended.yaml': extended.join('\n'),
      'desc/config.xml': MINIMAL_KIWI,
    });
    const load = async (name: string) => {
      const loaded = await loadProject({ file: project.path(name), env: {} });
      if (!loaded.ok) throw new Error(loaded.error.map((f) => f.message).join('\n'));
      const { steps, podman } = loaded.value.project;
      return { podman, steps: [...steps.values()].map(({ location, fields, ...step }) => step) };
    };
    expect(await load('extended.yaml')).toEqual(await load('plain.yaml'));
    expect(await diagnose('version: 1\ntasks:\n  t: {run: [echo], xdoc: 1}\n')).toMatchInlineSnapshot(`
      "kiwibox.yaml:3:20: error[unknown-key]: unknown key 'xdoc' in tasks.t
          3 |   t: {run: [echo], xdoc: 1}
            |                    ^^^^"
    `);
  });

  it('locates problems of the first step in that step after a duplicate id', async () => {
    const text = [
      'version: 1',
      'builds:',
      '  x:',
      '    description: nothere',
      '    target-dir: out',
      'tasks:',
      '  x:',
      '    run: [echo, hi]',
    ].join('\n');
    expect(await diagnose(text)).toMatchInlineSnapshot(`
      "kiwibox.yaml:7:3: error[duplicate-id]: step id 'x' is already used by a build; ids are unique across all sections
          7 |   x:
            |   ^
        kiwibox.yaml:3:3: note: first declared here
      kiwibox.yaml:4:18: error[missing-description]: description directory nothere does not exist
          4 |     description: nothere
            |                  ^^^^^^^"
    `);
  });

  it('checks kiwi-args against kiwi-ng system build', async () => {
    const text = [
      'version: 1',
      'builds:',
      '  b:',
      '    description: desc',
      '    target-dir: out',
      '    kiwi-args: [--add-package, vim, --frobnicate, --add-repo, nocomma, --target-dir=x, --add-container-label=nolabel, --clear-cache]',
      '  c:',
      '    description: desc',
      '    target-dir: out2',
      // kiwi-ng keeps the description's repository type when --set-repo gives none (the upstream page's form).
      '    kiwi-args: [--set-repo, obs://openSUSE:Leap:15.3/standard, --set-repo, ",rpm-md"]',
    ].join('\n');
    expect(await diagnose(text)).toMatchInlineSnapshot(`
      "kiwibox.yaml:6:37: error[unknown-kiwi-option]: '--frobnicate' is not a kiwi-ng system build option
          6 |     kiwi-args: [--add-package, vim, --frobnicate, --add-repo, nocomma, --target-dir=x, --add-container-label=nolabel, --clear-cache]
            |                                     ^^^^^^^^^^^^
      kiwibox.yaml:6:63: error[malformed-kiwi-option]: --add-repo=nocomma: expects source,type[,alias,priority,imageinclude,package_gpgcheck,{signing_keys},components,distribution,repo_gpgcheck]
          6 |     kiwi-args: [--add-package, vim, --frobnicate, --add-repo, nocomma, --target-dir=x, --add-container-label=nolabel, --clear-cache]
            |                                                               ^^^^^^^
      kiwibox.yaml:6:72: error[kiwibox-owned-option]: --target-dir is set by kiwibox: use the build's 'target-dir' key
          6 |     kiwi-args: [--add-package, vim, --frobnicate, --add-repo, nocomma, --target-dir=x, --add-container-label=nolabel, --clear-cache]
            |                                                                        ^^^^^^^^^^^^^^
      kiwibox.yaml:6:88: error[malformed-kiwi-option]: --add-container-label=nolabel: expects name=value
          6 |     kiwi-args: [--add-package, vim, --frobnicate, --add-repo, nocomma, --target-dir=x, --add-container-label=nolabel, --clear-cache]
            |                                                                                        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      kiwibox.yaml:10:76: error[malformed-kiwi-option]: --set-repo=,rpm-md: expects source[,type,alias,priority,imageinclude,package_gpgcheck,{signing_keys},components,distribution,repo_gpgcheck]
          10 |     kiwi-args: [--set-repo, obs://openSUSE:Leap:15.3/standard, --set-repo, ",rpm-md"]
             |                                                                            ^^^^^^^^^"
    `);
  });

  it('rejects short image names in stacks and bootstrap sections in stack descriptions', async () => {
    project.write({
      'boot/config.xml': MINIMAL_KIWI.replace(
        '<packages type="image">',
        '<packages type="bootstrap"><package name="x"/></packages>\n  <packages type="image">',
      ),
    });
    const text = 'version: 1\nstacks:\n  s: {images: [app], description: boot, target-dir: out}\n';
    expect(await diagnose(text)).toMatchInlineSnapshot(`
      "kiwibox.yaml:3:16: error[short-image-name]: image 'app' is neither a stash in this file nor a fully qualified reference (host/name:tag); set from-registry or qualify it
          3 |   s: {images: [app], description: boot, target-dir: out}
            |                ^^^
      kiwibox.yaml:3:35: error[bootstrap-into-existing-root]: boot/config.xml has a <packages type="bootstrap"> section: kiwi-ng cannot bootstrap into the stacked (non-empty) root; remove it
          3 |   s: {images: [app], description: boot, target-dir: out}
            |                                   ^^^^"
    `);
  });
});

describe('the CLI on bad input', () => {
  it('exits 2 with the diagnostics and no stack trace, running nothing', async () => {
    project.write({
      'cli/kiwibox.yaml':
        'version: 1\ntasks:\n  a: {run: [touch, ran-a]}\n  b: {run: [touch, ran-b], needs: [zz]}\n',
    });
    const result = await project.kiwibox(['-C', 'cli', 'run']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      [
        "cli/kiwibox.yaml:4:36: error[unknown-step]: needed step 'zz' is not a step in this file",
        '    4 |   b: {run: [touch, ran-b], needs: [zz]}',
        '      |                                    ^^',
      ].join('\n'),
    );
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
    const ran = await project.kiwibox(['-C', 'cli', 'validate']);
    expect(ran.exitCode).toBe(2);
    const { existsSync } = await import('node:fs');
    expect(existsSync(project.path('cli/ran-a'))).toBe(false);
  });

  it('exits 2 on unknown options and unknown steps', async () => {
    project.write({ 'cli2/kiwibox.yaml': 'version: 1\ntasks:\n  a: {run: ["true"]}\n' });
    expect((await project.kiwibox(['-C', 'cli2', '--bogus'])).exitCode).toBe(2);
    const unknown = await project.kiwibox(['-C', 'cli2', 'run', 'nope']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("error[unknown-step]: no step named 'nope'");
  });
});

describe('boxed builds', () => {
  it('rejects kiwi-args the box protocol cannot carry, at the argument', async () => {
    const p = new TempProject();
    try {
      p.write({
        'kiwibox.yaml': [
          'version: 1',
          'boxes:',
          '  leap: {}',
          'builds:',
          '  b:',
          '    box: leap',
          '    description: desc',
          '    target-dir: out',
          '    kiwi-args: [--add-package, "a\\"b"]',
        ].join('\n'),
        'desc/config.xml': MINIMAL_KIWI,
      });
      const result = await p.kiwibox(['validate']);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toBe(
        [
          'kiwibox.yaml:9:32: error[kernel-cmdline]: the box protocol cannot carry a double quote in a kiwi-ng argument: a"b',
          '    9 |     kiwi-args: [--add-package, "a\\"b"]',
          '      |                                ^^^^^^',
        ].join('\n'),
      );
    } finally {
      p.remove();
    }
  });
});
