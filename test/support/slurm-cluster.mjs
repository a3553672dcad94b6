/**
 * A real one-node Slurm cluster (Debian's slurm-wlm 22.05 + munge) on 127.0.0.1, everything in a
 * temp dir: munge's key and socket, slurm.conf, state, logs. Nothing in /etc is touched. As root, no
 * systemd, no cgroups, no accounting daemon: SlurmUser=root, proctrack/linuxproc, task/none, the
 * jobcomp text file as the list of every finished job. The daemons run in the foreground as our
 * children (own process groups) and are stopped by PID.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { guardDaemon, killGroup } from './daemon.mjs';

/** A free TCP port on 127.0.0.1 (the OS picks it for a listener that is closed again). */
function freeLocalPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export const SLURM_TOOLS = [
  'munged',
  'slurmctld',
  'slurmd',
  'srun',
  'scontrol',
  'squeue',
  'scancel',
  'sinfo',
  'runuser',
];

/** ppid of every process, from /proc. */
function parents() {
  const map = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      map.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Ended meanwhile.
    }
  }
  return map;
}

function descendants(pid) {
  const ppid = parents();
  const found = [];
  let frontier = [pid];
  while (frontier.length) {
    frontier = [...ppid].filter(([, parent]) => frontier.includes(parent)).map(([child]) => child);
    found.push(...frontier);
  }
  return found;
}

/** The slurmstepd processes of this cluster (they carry its SLURM_CONF from slurmd). */
function stepDaemons(conf) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/comm`, 'utf8').startsWith('slurmstepd')) continue;
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(`SLURM_CONF=${conf}`)) {
        pids.push(Number(name));
      }
    } catch {
      // Ended meanwhile.
    }
  }
  return pids;
}

function slurmConf(options) {
  const { dir, node } = options;
  return [
    'ClusterName=kiwibox-test',
    `SlurmctldHost=${node}(127.0.0.1)`,
    `SlurmctldPort=${options.port}`,
    `SlurmdPort=${options.dport}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    `AuthInfo=socket=${dir}/run/munge.sock`,
    'CredType=cred/munge',
    `StateSaveLocation=${dir}/state`,
    `SlurmdSpoolDir=${dir}/spool/%n`,
    `SlurmctldPidFile=${dir}/log/slurmctld.pid`,
    `SlurmdPidFile=${dir}/log/slurmd.pid`,
    `SlurmctldLogFile=${dir}/log/slurmctld.log`,
    `SlurmdLogFile=${dir}/log/slurmd.log`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/filetxt',
    `JobCompLoc=${dir}/log/jobcomp.txt`,
    'SchedulerType=sched/builtin',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    // Finished jobs stay visible to scontrol for 5 minutes (kiwibox reads the final state there).
    'MinJobAge=300',
    'SlurmdTimeout=10',
    'ReturnToService=2',
    'MpiDefault=none',
    'GresTypes=kvm',
    `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${availableParallelism()} RealMemory=2000 Gres=kvm:1 Features=kvm,x86_64 State=UNKNOWN`,
    `PartitionName=main Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
    '',
  ].join('\n');
}

/** Starts the cluster; see slurm-cluster.d.mts for what it returns. */
export async function startSlurm() {
  const dir = mkdtempSync(join(tmpdir(), 'kiwibox-slurm-'));
  // munged (user munge) must reach DIR/run: mkdtemp's 0700 would keep it out.
  chmodSync(dir, 0o755);
  for (const sub of ['state', 'spool', 'log', 'run']) mkdirSync(join(dir, sub));
  const node = hostname().split('.')[0];
  const conf = join(dir, 'slurm.conf');
  const env = { SLURM_CONF: conf };
  /** The daemons' guards (daemon.mjs), in start order. */
  const guards = [];
  const start = (argv, log) => {
    const fd = openSync(join(dir, 'log', log), 'a');
    const child = spawn(argv[0], argv.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...env },
    });
    guards.push(guardDaemon(child));
    return child;
  };
  // The node dies as a whole: slurmd, the job steps' slurmstepd and everything below them.
  const killSteps = (extra) => {
    const doomed = [...extra, ...stepDaemons(conf)];
    for (const pid of doomed.flatMap((pid) => [pid, ...descendants(pid)])) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
  };
  const stop = async () => {
    // Job steps run outside slurmd's process group: a job still running would outlive the daemons.
    killSteps([]);
    // Reverse order: slurmd, slurmctld, then munged; each by its process group.
    for (const guard of [...guards].reverse()) await guard.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // munged refuses files in a directory it does not own: its key and socket live in DIR/run.
    const munge = Number(execFileSync('id', ['-u', 'munge'], { encoding: 'utf8' }).trim());
    writeFileSync(join(dir, 'munge.key'), randomBytes(1024), { mode: 0o400 });
    chownSync(join(dir, 'munge.key'), munge, munge);
    chownSync(join(dir, 'run'), munge, munge);
    const munged = start(
      [
        'runuser',
        '-u',
        'munge',
        '--',
        'munged',
        '--foreground',
        `--key-file=${dir}/munge.key`,
        `--socket=${dir}/run/munge.sock`,
        `--pid-file=${dir}/run/munged.pid`,
        `--log-file=${dir}/run/munged.log`,
        `--seed-file=${dir}/run/munge.seed`,
      ],
      'munged.out',
    );
    for (let i = 0; i < 50 && !existsSync(join(dir, 'run', 'munge.sock')); i++) await sleep(100);
    if (!existsSync(join(dir, 'run', 'munge.sock'))) {
      throw new Error(`munged did not start: ${readFileSync(join(dir, 'log', 'munged.out'), 'utf8')}`);
    }
    const [port, dport] = [await freeLocalPort(), await freeLocalPort()];
    writeFileSync(conf, slurmConf({ dir, node, port, dport }));
    writeFileSync(join(dir, 'gres.conf'), 'Name=kvm Count=1 Flags=CountOnly\n');
    start(['slurmctld', '-D', '-i', '-f', conf], 'slurmctld.out');
    let slurmd = start(['slurmd', '-D', '-f', conf], 'slurmd.out');
    const client = (argv) =>
      execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env } });
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      let state = '';
      try {
        state = client(['sinfo', '-h', '-o', '%T']).trim();
      } catch {
        // Not up yet.
      }
      if (state === 'idle') {
        const jobcomp = join(dir, 'log', 'jobcomp.txt');
        return {
          dir,
          env,
          node,
          client,
          finishedJobs: () =>
            existsSync(jobcomp) ? readFileSync(jobcomp, 'utf8').split('\n').filter(Boolean) : [],
          queued: () => client(['squeue', '-h', '-o', '%i']).split('\n').filter(Boolean),
          stop,
          killNode: () => killSteps(slurmd.pid === undefined ? [] : [slurmd.pid]),
          startNode: () => {
            slurmd = start(['slurmd', '-D', '-f', conf], 'slurmd.out');
          },
          pauseMunge: () => {
            killGroup(munged, 'SIGSTOP');
            return () => killGroup(munged, 'SIGCONT');
          },
          nodeState: () => client(['sinfo', '-h', '-o', '%T']).trim(),
        };
      }
      await sleep(100);
    }
    const log = (name) =>
      existsSync(join(dir, 'log', name)) ? readFileSync(join(dir, 'log', name), 'utf8') : '';
    throw new Error(
      `the Slurm node did not become idle:\n${log('slurmctld.log').slice(-2000)}\n${log('slurmd.log').slice(-2000)}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
}
