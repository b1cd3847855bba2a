import { checkPathWithinRoots } from '../../core/jobs/path-policy';
import { JobFileAccessError } from '../../core/slurm/job-files.port';

/**
 * How one file system takes the steps of a walk to a job file: local directory descriptors, or
 * paths over SFTP as the owner. Every method throws JobFileAccessError for a path that is wrong
 * (loop, permission, not a directory...) and anything else for a file system that failed.
 */
export interface DirectoryWalk<D> {
  /** The owner's root as configured (an administrator's path, followed as it is); null when it does not exist. */
  root(path: string): Promise<D | null>;
  /** `name` inside `dir` when it is a directory itself, never through a symlink; null when nothing has that name. */
  child(dir: D, name: string): Promise<D | null | 'symlink'>;
  /** Follows the symlink `name` inside `dir` to the directory it leads to, and tells where that really is. */
  follow(dir: D, name: string): Promise<{ dir: D; realPath: string }>;
  realpath(path: string): Promise<string>;
  release(dir: D): Promise<void>;
}

/**
 * The directory holding a job file and the file's name, reached from the owner's root one
 * component at a time: directories are entered, a symlink only when it leads to a directory inside
 * the owner's (real) roots. Null when a component does not exist: the file does not exist yet.
 * Everything else that is wrong is a JobFileAccessError, including a symlink whose target is
 * missing, so that the answer never tells what exists outside the roots.
 */
export async function walkToDirectory<D>(walk: DirectoryWalk<D>, path: string, roots: readonly string[]): Promise<{ dir: D; name: string } | null> {
  const checked = checkPathWithinRoots(path, roots);
  if (!checked.ok) throw new JobFileAccessError(`${path}: ${checked.reason}`);
  const root = roots.filter((r) => checkPathWithinRoots(checked.normalized, [r]).ok).reduce((longest, r) => (r.length > longest.length ? r : longest));
  const components = checked.normalized
    .slice(root === '/' ? 1 : root.length + 1)
    .split('/')
    .filter((c) => c !== '');
  const name = components.pop();
  if (name === undefined) throw new JobFileAccessError(`${path} is the owner's root directory`);

  // (Casts: TypeScript keeps `await` of a generic as Awaited<D>, which it will not call a D.)
  const opened = (await walk.root(root)) as D | null;
  if (opened === null) return null;
  let dir: D = opened;
  let realRoots: string[] | undefined;
  try {
    for (const component of components) {
      const child = (await walk.child(dir, component)) as D | null | 'symlink';
      if (child === null) {
        await walk.release(dir);
        return null;
      }
      let next: D;
      if (child === 'symlink') {
        const followed = (await walk.follow(dir, component)) as { dir: D; realPath: string };
        realRoots ??= await resolvedRoots(walk, roots);
        if (!checkPathWithinRoots(followed.realPath, realRoots).ok) {
          await walk.release(followed.dir);
          throw new JobFileAccessError(`${path}: ${component} leads outside the owner's directories`);
        }
        next = followed.dir;
      } else {
        next = child;
      }
      await walk.release(dir);
      dir = next;
    }
  } catch (error) {
    await walk.release(dir);
    throw error;
  }
  return { dir, name };
}

async function resolvedRoots<D>(walk: DirectoryWalk<D>, roots: readonly string[]): Promise<string[]> {
  const resolved = await Promise.all(roots.map((root) => walk.realpath(root).catch(() => null)));
  return resolved.filter((root): root is string => root !== null);
}
