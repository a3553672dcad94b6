/**
 * Where a kiwi-ng build is, from its own log lines: kiwi's INFO messages name the phases, and in its
 * debug log (the log file) apt says how many packages it installs ("N newly installed") and each
 * "Setting up P" counts one. Feed phases from one source only (stdout or the console) and counts
 * from the debug log: the two arrive in different order. The build's stages only move forward;
 * within image creation (initrd, disk, bootloader, format) kiwi's order depends on the type, so
 * there any change counts.
 */

export interface KiwiPhase {
  readonly phase: string;
  readonly detail?: string;
}

/** kiwi-ng 9.x/10.x messages (substrings) that start a phase; ranks are build stages. */
const PHASES: readonly (readonly [string, string, string?])[] = [
  ['Preparing new root system', 'prepare'],
  ['Installing bootstrap packages', 'bootstrap'],
  ['Installing system (chroot)', 'packages'],
  ['Installing system packages (chroot)', 'packages'],
  ['Calling config.sh script', 'config'],
  ['Creating system image', 'image'],
  ['Creating generic dracut initrd archive', 'initrd'],
  ['Creating raw disk image', 'disk'],
  ['Syncing system to image', 'disk', 'copying root'],
  ['bootloader configuration', 'disk', 'bootloader'],
  ['Packing system into dracut live ISO', 'iso'],
  ['Disk Format', 'format'],
  ['Creating XZ compressed tar archive', 'archive'],
  ['Result files', 'results'],
  ['Bundle build results', 'bundle'],
  ['result bundle', 'bundle'],
];

/** The image creation phases, which follow each other in the type's own order. */
const CREATE = new Set(['image', 'initrd', 'disk', 'iso', 'format', 'archive']);
const RANK = new Map<string, number>();
for (const [, phase] of PHASES) {
  const stage = CREATE.has(phase) ? 'image' : phase;
  if (!RANK.has(stage)) RANK.set(stage, RANK.size);
  RANK.set(phase, RANK.get(stage) ?? 0);
}

const NEWLY_INSTALLED = /\b(\d+) newly installed\b/;
const SETTING_UP = /:\s+Setting up \S+ \(/;

export class KiwiProgress {
  #phase: string | undefined;
  #detail: string | undefined;
  #total = 0;
  #done = 0;

  /**
   * The new phase/detail after this line, or undefined when it did not change. `phases: false` for
   * a second source (kiwi's debug log) that only adds package counts.
   */
  feed(line: string, options: { readonly phases?: boolean } = {}): KiwiPhase | undefined {
    const before = `${this.#phase}|${this.#detail}`;
    if (options.phases !== false) this.#advance(line);
    this.#count(line);
    if (!this.#phase || `${this.#phase}|${this.#detail}` === before) return undefined;
    return this.#detail === undefined ? { phase: this.#phase } : { phase: this.#phase, detail: this.#detail };
  }

  #advance(line: string): void {
    for (const [text, phase, detail] of PHASES) {
      if (!line.includes(text)) continue;
      const rank = RANK.get(phase) ?? 0;
      const current = this.#phase === undefined ? -1 : (RANK.get(this.#phase) ?? -1);
      if (rank < current) return;
      if (rank > current || phase !== this.#phase) {
        this.#phase = phase;
        this.#total = 0;
        this.#done = 0;
        this.#detail = detail;
      } else if (detail !== undefined) this.#detail = detail;
      return;
    }
  }

  /** apt's counts, within the bootstrap or package phase. */
  #count(line: string): void {
    if (this.#phase !== 'bootstrap' && this.#phase !== 'packages') return;
    const total = NEWLY_INSTALLED.exec(line);
    if (total?.[1]) {
      this.#total = Number(total[1]);
      this.#done = 0;
      this.#detail = `0/${this.#total}`;
    } else if (this.#total && SETTING_UP.test(line)) {
      this.#done = Math.min(this.#done + 1, this.#total);
      this.#detail = `${this.#done}/${this.#total}`;
    }
  }
}
