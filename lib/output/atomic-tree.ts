import * as fs from 'node:fs';
import * as path from 'node:path';

const STAGING_PREFIX = '.dist-staging-';
/** Written into a staging folder once its tree is complete: from then on the swap is finished, never undone. */
const JOURNAL = 'swap.json';

/**
 * A point of the swap where a test may stop the process (`PREFECT_CDK8S_FAULT_AFTER=<step>` kills
 * it with SIGKILL right after that step), to prove that a later run finishes what it started.
 */
export type SwapStep = 'staged' | 'journaled' | 'moved-old' | 'moved-new';

function faultAfter(step: SwapStep): void {
  if (process.env.PREFECT_CDK8S_FAULT_AFTER === step) process.kill(process.pid, 'SIGKILL');
}

/** The renames of a swap, in order: each target goes to `old` (when it exists), then `staged` takes its place. */
interface Journal {
  readonly renames: ReadonlyArray<{ readonly target: string; readonly staged: string; readonly old: string }>;
}

/**
 * Replaces folders of `outDir` (one per environment) with new contents, all or nothing:
 *
 * 1. every changed tree is written to a staging folder beside `outDir` (an unchanged file is
 *    hard-linked from the current tree); a failure here leaves `outDir` untouched;
 * 2. the staging folder's journal names the renames to make, and from the moment it is written
 *    the swap counts as done: a run that dies after it is finished by the next one to take the
 *    output's lock, whatever that run then does (withOutputLock);
 * 3. the renames. One changed environment is swapped alone (its folder, two renames); several,
 *    or a removal, swap the whole of `outDir` at once, unchanged environments linked into the
 *    new tree, so that `outDir` never holds two generations.
 *
 * `remove` names folders of `outDir` to delete in the same step (environments that no longer
 * have a configuration).
 */
export function replaceFolders(
  outDir: string,
  trees: ReadonlyMap<string, ReadonlyMap<string, string>>,
  remove: readonly string[] = [],
): string[] {
  const parent = path.dirname(path.resolve(outDir));
  const current = new Map([...trees.keys()].map((folder) => [folder, readTree(path.join(outDir, folder))] as const));
  const changed = [...trees]
    .filter(([folder, files]) => {
      const existing = current.get(folder) as Map<string, string>;
      return !(existing.size === files.size && [...files].every(([file, content]) => existing.get(file) === content));
    })
    .map(([folder]) => folder);
  const removed = remove.filter((folder) => fs.existsSync(path.join(outDir, folder)));
  if (changed.length === 0 && removed.length === 0) return [];

  const staging = fs.mkdtempSync(path.join(parent, `${STAGING_PREFIX}${process.pid}-`));
  try {
    const whole = changed.length > 1 || removed.length > 0;
    const newRoot = path.join(staging, 'new');
    for (const folder of changed) {
      const files = trees.get(folder) as ReadonlyMap<string, string>;
      writeTree(path.join(newRoot, folder), files, path.join(outDir, folder), current.get(folder) as Map<string, string>);
    }
    if (whole && fs.existsSync(outDir)) {
      // Everything else of outDir comes along as it is: unchanged environments, files at the top.
      for (const entry of fs.readdirSync(outDir)) {
        if (changed.includes(entry) || removed.includes(entry)) continue;
        linkTree(path.join(outDir, entry), path.join(newRoot, entry));
      }
    }
    fs.mkdirSync(newRoot, { recursive: true });
    faultAfter('staged');

    const journal: Journal = whole
      ? { renames: [{ target: path.resolve(outDir), staged: newRoot, old: path.join(staging, 'old') }] }
      : {
          renames: changed.map((folder) => ({
            target: path.resolve(outDir, folder),
            staged: path.join(newRoot, folder),
            old: path.join(staging, 'old', folder),
          })),
        };
    fs.mkdirSync(path.join(staging, 'old'), { recursive: true });
    fs.mkdirSync(outDir, { recursive: true });
    const journalFile = path.join(staging, JOURNAL);
    fs.writeFileSync(`${journalFile}.tmp`, JSON.stringify(journal));
    fs.renameSync(`${journalFile}.tmp`, journalFile);
    faultAfter('journaled');
    finishSwap(journal);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return [...changed, ...removed];
}

/** Makes the journal's renames that are not made yet (the same steps whether first run or recovery). */
function finishSwap(journal: Journal): void {
  for (const { target, staged, old } of journal.renames) {
    if (!fs.existsSync(staged)) continue; // done
    if (fs.existsSync(target) && !fs.existsSync(old)) {
      fs.mkdirSync(path.dirname(old), { recursive: true });
      fs.renameSync(target, old);
    }
    faultAfter('moved-old');
    if (fs.existsSync(target)) fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(staged, target);
    faultAfter('moved-new');
  }
}

/**
 * Writes `files` under `folder`, hard-linking each file whose content is that of the same file
 * of `existing` (the tree under `current`).
 */
function writeTree(folder: string, files: ReadonlyMap<string, string>, current: string, existing: ReadonlyMap<string, string>): void {
  const made = new Set<string>();
  for (const [file, content] of files) {
    const target = path.join(folder, file);
    const directory = path.dirname(target);
    if (!made.has(directory)) {
      fs.mkdirSync(directory, { recursive: true });
      made.add(directory);
    }
    // An unchanged file is linked, not written again: the same bytes, in a tenth of the time.
    if (existing.get(file) !== content || !linked(path.join(current, file), target)) fs.writeFileSync(target, content);
  }
}

/** Recreates `source` (a file or a folder) at `target` with hard links (copies where links are not possible). */
function linkTree(source: string, target: string): void {
  const stat = fs.lstatSync(source);
  if (stat.isDirectory()) {
    fs.mkdirSync(target, { recursive: true });
    for (const entry of fs.readdirSync(source)) linkTree(path.join(source, entry), path.join(target, entry));
  } else if (!linked(source, target)) {
    fs.copyFileSync(source, target);
  }
}

/** The files under `folder` by their path inside it; none when it is missing. */
function readTree(folder: string): Map<string, string> {
  if (!fs.existsSync(folder)) return new Map();
  return new Map(listFiles(folder).map((file) => [file, fs.readFileSync(path.join(folder, file), 'utf8')]));
}

/** Hard-links `source` at `target` (the old folder goes, the file stays); false where links are not possible. */
function linked(source: string, target: string): boolean {
  try {
    fs.linkSync(source, target);
    return true;
  } catch {
    return false;
  }
}

export function listFiles(folder: string, prefix = ''): string[] {
  return fs
    .readdirSync(path.join(folder, prefix), { withFileTypes: true })
    .flatMap((entry) => {
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      return entry.isDirectory() ? listFiles(folder, relative) : [relative];
    })
    .sort();
}

/**
 * Finishes or undoes what a run that died left beside `outDir`: a staging folder with its
 * journal is a swap that counts as done, and its remaining renames are made; one without is
 * a tree that never reached `outDir`, and goes. withOutputLock calls it before anything else
 * can fail, so that a later run (even one that then fails on its configuration) never starts
 * from half a swap. Earlier staging folders without a journal but with an `old`
 * tree (left by a build that swapped folder by folder) put back what is missing.
 */
export function recoverInterruptedSwaps(outDir: string): void {
  const parent = path.dirname(path.resolve(outDir));
  if (!fs.existsSync(parent)) return;
  for (const entry of fs.readdirSync(parent)) {
    if (!entry.startsWith(STAGING_PREFIX)) continue;
    const pid = Number(entry.slice(STAGING_PREFIX.length).split('-')[0]);
    if (pid === process.pid || isRunning(pid)) continue;
    const staging = path.join(parent, entry);
    const journal = readJournal(path.join(staging, JOURNAL));
    if (journal) {
      finishSwap(journal);
    } else {
      const old = path.join(staging, 'old');
      if (fs.existsSync(old)) {
        for (const folder of fs.readdirSync(old)) {
          const current = path.join(outDir, folder);
          if (!fs.existsSync(current)) fs.renameSync(path.join(old, folder), current);
        }
      }
    }
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function readJournal(file: string): Journal | undefined {
  try {
    const journal = JSON.parse(fs.readFileSync(file, 'utf8')) as Journal;
    return Array.isArray(journal.renames) ? journal : undefined;
  } catch {
    return undefined;
  }
}

/** An error that stops synthesis because another one is writing the same output. */
export class OutputLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputLockedError';
  }
}

/**
 * Runs `work` holding the lock of `outDir` (a file beside it, naming the process): a second
 * synthesis of the same output stops at once with a clear message instead of racing the first.
 * A lock left by a process that no longer runs is taken over. Holding the lock, it first
 * finishes or undoes a swap that a killed run left (recoverInterruptedSwaps), so that `work`,
 * whether it then succeeds or fails, starts from one whole generation.
 */
export function withOutputLock<T>(outDir: string, work: () => T): T {
  const parent = path.dirname(path.resolve(outDir));
  fs.mkdirSync(parent, { recursive: true });
  const lock = path.join(parent, `.${path.basename(path.resolve(outDir))}.lock`);
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = Number(fs.readFileSync(lock, 'utf8').trim());
      if (isRunning(holder) && holder !== process.pid) {
        throw new OutputLockedError(
          `${path.relative(process.cwd(), lock) || lock}: another synthesis (process ${holder}) is writing ${path.basename(outDir)}/; wait for it to end (if no synthesis runs, delete the file)`,
        );
      }
      fs.rmSync(lock, { force: true });
    }
  }
  try {
    recoverInterruptedSwaps(outDir);
    return work();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
