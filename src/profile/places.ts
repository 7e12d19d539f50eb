/**
 * Where a key was written in a YAML file, as messages show it (`FILE:LINE
 * key.path:`), from a map of key paths to lines. Plain data, so a file read
 * from the validated-file cache can still point at its lines without YAML.
 */

/** The line of every node in a file, by its key path (JSON of the path: strings for keys, numbers for list items). */
export type LineMap = Record<string, number>;

/** `slurm.partitions[0].maxTime` for a key path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out || "(top level)";
}

/** The line of the deepest node on `path` that the file has, or undefined when it has none of it. */
export function lineIn(lines: LineMap, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const line = lines[JSON.stringify(path.slice(0, n))];
    if (line !== undefined) return line;
  }
  return undefined;
}

/** `FILE:LINE key.path:` for a key path of a file, line 1 when the file has none of it. */
export function placeIn(file: string, lines: LineMap, path: readonly PropertyKey[]): string {
  return `${file}:${lineIn(lines, path) ?? 1} ${formatPath(path)}:`;
}
