/**
 * THE shell quoting function. Every user value that reaches a script goes
 * through here (directly, or as the nunjucks `quote` filter). Nothing else in
 * hpcjob builds shell words by concatenation.
 */

// Characters that never need quoting in bash (and in sbatch's own #SBATCH parser).
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quote one value as a single POSIX shell word: bare when it is made only of
 * safe characters, otherwise in single quotes with embedded quotes as '\''.
 */
export function quote(value: string | number): string {
  const s = String(value);
  if (SAFE_WORD.test(s)) return s;
  return `'${s.replaceAll("'", "'\\''")}'`;
}
