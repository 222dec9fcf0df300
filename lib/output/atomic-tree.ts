import * as fs from 'node:fs';
import * as path from 'node:path';

const STAGING_PREFIX = '.dist-staging-';

/**
 * Replaces folders of `outDir` (one per environment) with new contents, all or nothing as far as
 * the file system allows: every tree is written in full to a staging folder beside `outDir`
 * first, then each folder is swapped in with two renames. Files that are no longer generated
 * disappear with the old folder. A failure before the swap leaves `outDir` untouched.
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
  recoverInterruptedSwaps(outDir);
  const staging = fs.mkdtempSync(path.join(parent, `${STAGING_PREFIX}${process.pid}-`));
  const changed: string[] = [];
  try {
    for (const [folder, files] of trees) {
      if (sameTree(path.join(outDir, folder), files)) continue;
      for (const [file, content] of files) {
        const target = path.join(staging, 'new', folder, file);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, content);
      }
      changed.push(folder);
    }
    fs.mkdirSync(path.join(staging, 'old'), { recursive: true });
    fs.mkdirSync(outDir, { recursive: true });
    for (const folder of changed) {
      const current = path.join(outDir, folder);
      const previous = path.join(staging, 'old', folder);
      const hadPrevious = fs.existsSync(current);
      if (hadPrevious) fs.renameSync(current, previous);
      try {
        fs.renameSync(path.join(staging, 'new', folder), current);
      } catch (error) {
        if (hadPrevious) fs.renameSync(previous, current);
        throw error;
      }
    }
    for (const folder of remove) {
      const current = path.join(outDir, folder);
      if (fs.existsSync(current)) {
        fs.renameSync(current, path.join(staging, 'old', folder));
        changed.push(folder);
      }
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return changed;
}

/** True when `folder` holds exactly `files` (same names, same bytes). */
function sameTree(folder: string, files: ReadonlyMap<string, string>): boolean {
  if (!fs.existsSync(folder)) return false;
  const existing = listFiles(folder);
  if (existing.length !== files.size) return false;
  return existing.every((file) => files.get(file) === fs.readFileSync(path.join(folder, file), 'utf8'));
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
 * A run killed between the two renames of a swap leaves the previous folder in its staging
 * folder; put it back so that the next run starts from the committed state.
 */
function recoverInterruptedSwaps(outDir: string): void {
  const parent = path.dirname(path.resolve(outDir));
  for (const entry of fs.readdirSync(parent)) {
    if (!entry.startsWith(STAGING_PREFIX)) continue;
    const pid = Number(entry.slice(STAGING_PREFIX.length).split('-')[0]);
    if (pid === process.pid || isRunning(pid)) continue;
    const old = path.join(parent, entry, 'old');
    if (fs.existsSync(old)) {
      for (const folder of fs.readdirSync(old)) {
        const current = path.join(outDir, folder);
        if (!fs.existsSync(current)) fs.renameSync(path.join(old, folder), current);
      }
    }
    fs.rmSync(path.join(parent, entry), { recursive: true, force: true });
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
