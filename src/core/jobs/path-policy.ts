/**
 * Where a tenant's job may read and write: the roots a user owns (from templates such as
 * `/home/{user}`), a check that a path stays inside them, and job-name validation (a job name ends
 * up in paths through `%x`). Pure string logic, no I/O.
 *
 * What the check does NOT see: symbolic links. It works on the path as written; the job runs as
 * the owner's POSIX user, so the kernel's permissions remain the real boundary and this policy is
 * the control plane's own fence in front of it. Because `..` after a symlink resolves physically,
 * not lexically, paths containing a `..` segment are refused outright rather than normalized.
 */

import { jobFilePath } from './output-path';

export type PathCheck = { ok: true; normalized: string } | { ok: false; reason: string };

export const JOB_NAME_MAX_LENGTH = 200;

/** POSIX portable user names (plus the `$` Samba machine accounts may end with), at most 32 characters. */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*[$]?$/;
const USER_NAME_MAX_LENGTH = 32;

/**
 * Expands each template's `{user}` placeholder. Templates must be absolute; any other `{...}`
 * placeholder, a `..` segment, or an unsafe user name throws. Results are normalized (no trailing
 * `/`, no `//`, no `.`) and de-duplicated, in template order.
 */
export function allowedRootsFor(user: string, templates: readonly string[]): string[] {
  if (typeof user !== 'string' || user.length > USER_NAME_MAX_LENGTH || !USER_NAME.test(user)) {
    throw new RangeError(`unsafe user name ${JSON.stringify(user)}`);
  }
  const roots: string[] = [];
  for (const template of templates) {
    const expanded = template.replace(/\{user\}/g, user);
    const other = /\{[^}]*\}/.exec(expanded);
    if (other) throw new RangeError(`unknown placeholder ${other[0]} in root template ${JSON.stringify(template)}`);
    const checked = normalizeAbsolute(expanded);
    if (!checked.ok) throw new RangeError(`root template ${JSON.stringify(template)}: ${checked.reason}`);
    if (!roots.includes(checked.normalized)) roots.push(checked.normalized);
  }
  return roots;
}

/**
 * Accepts `path` when, after lexical normalization (`//` and `.` removed, trailing `/` dropped),
 * it is one of `roots` or lies below one. Refuses relative paths (resolve them against the working
 * directory first), `..` segments, NUL, newlines and every other control character, malformed
 * UTF-16, and sibling-prefix tricks (`/home/alice2` is not inside `/home/alice`).
 */
export function checkPathWithinRoots(path: string, roots: readonly string[]): PathCheck {
  const checked = normalizeAbsolute(path);
  if (!checked.ok) return checked;
  const target = checked.normalized;
  for (const root of roots) {
    const r = normalizeAbsolute(root);
    if (!r.ok) continue; // a bad root grants nothing
    if (isWithin(target, r.normalized)) return { ok: true, normalized: target };
  }
  return { ok: false, reason: `${target} is outside the allowed directories` };
}

/**
 * A job name as `%x` will put it into file names: 1-200 characters, no `/`, no control characters,
 * not `.` or `..` (which `%x/` would turn into a directory step), well-formed Unicode.
 * Returns what is wrong with the name, or null when it is acceptable.
 */
export function validateJobName(name: string): string | null {
  if (typeof name !== 'string') return 'job name must be a string';
  const length = [...name].length;
  if (length === 0) return 'job name is empty';
  if (length > JOB_NAME_MAX_LENGTH) return `job name is longer than ${JOB_NAME_MAX_LENGTH} characters`;
  if (name.includes('/')) return 'job name contains "/"';
  const bad = firstUnsafeCharacter(name);
  if (bad !== null) return `job name ${bad}`;
  if (name === '.' || name === '..') return `job name cannot be ${JSON.stringify(name)}`;
  return null;
}

/**
 * Checks an output/error/input pattern BEFORE the job runs: the file slurmstepd will open, with the
 * `%` symbols left in place, must lie within `roots`. Sound as long as the values that replace them
 * cannot add a `/` or make a `..` segment: job ids and indexes are digits, `%s` is `batch`, `%N` a
 * host name, `%u` a user name accepted by allowedRootsFor(), and `%x` a job name accepted by
 * validateJobName(). Catches the backslash trick: `\/../bob/x` is opened as `<cwd>/../bob/x`.
 */
export function checkFilePatternWithinRoots(pattern: string, workingDirectory: string, roots: readonly string[]): PathCheck {
  let path: string;
  try {
    path = jobFilePath(pattern, workingDirectory);
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  if (path === '/dev/null') return { ok: true, normalized: path };
  return checkPathWithinRoots(path, roots);
}

// ---------------------------------------------------------------------------------------------

function normalizeAbsolute(path: string): PathCheck {
  if (typeof path !== 'string' || path === '') return { ok: false, reason: 'path is empty' };
  const bad = firstUnsafeCharacter(path);
  if (bad !== null) return { ok: false, reason: `path ${bad}` };
  if (!path.startsWith('/')) return { ok: false, reason: 'path is not absolute' };
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') return { ok: false, reason: 'path contains a ".." segment' };
    segments.push(segment);
  }
  return { ok: true, normalized: `/${segments.join('/')}` };
}

function isWithin(target: string, root: string): boolean {
  if (root === '/') return true;
  return target === root || target.startsWith(`${root}/`);
}

/** C0 controls, DEL, C1 controls, lone surrogates. Returns a reason, or null when clean. */
function firstUnsafeCharacter(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return 'contains a NUL character';
    if (c === 0x0a || c === 0x0d) return 'contains a line break';
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) {
      return `contains control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return 'contains malformed Unicode (lone surrogate)';
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return 'contains malformed Unicode (lone surrogate)';
    }
  }
  return null;
}
