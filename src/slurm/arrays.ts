/**
 * Job arrays that fit the cluster: the highest task index is MaxArraySize - 1
 * and `SchedulerParameters=max_array_tasks=N` caps the tasks of one array,
 * so a large sweep is split into several arrays, each task finding its point
 * of the table at its array's offset plus SLURM_ARRAY_TASK_ID.
 */

/** Slurm's MaxArraySize when the configuration does not say. */
export const DEFAULT_MAX_ARRAY_SIZE = 1001;

/** One array of a sweep: the points offset .. offset + count - 1 of the table, as tasks 0 .. count - 1. */
export interface ArrayPart {
  offset: number;
  count: number;
  /**
   * A resubmission's file of point indices, one a line: task T runs the point
   * on line offset + T + 1 of it, not point offset + T of the table.
   */
  picks?: string;
}

/**
 * The most tasks one array may have, from `scontrol show config`'s settings
 * (parseShowConfig): MaxArraySize (indices 0 .. MaxArraySize - 1) and
 * SchedulerParameters' max_array_tasks. 0 when the cluster allows no arrays.
 */
export function arrayLimit(config: ReadonlyMap<string, string>): number {
  const size = Number(config.get("MaxArraySize") ?? DEFAULT_MAX_ARRAY_SIZE);
  let limit = Number.isInteger(size) && size >= 0 ? size : DEFAULT_MAX_ARRAY_SIZE;
  const tasks = /(?:^|,)max_array_tasks=(\d+)/.exec(config.get("SchedulerParameters") ?? "")?.[1];
  if (tasks !== undefined) limit = Math.min(limit, Number(tasks));
  return limit;
}

/** `points` split into arrays of at most `limit` tasks each, in order. */
export function splitArrays(points: number, limit: number): ArrayPart[] {
  if (limit < 1) throw new Error("splitArrays needs a limit of at least 1");
  const parts: ArrayPart[] = [];
  for (let offset = 0; offset < points; offset += limit) parts.push({ offset, count: Math.min(limit, points - offset) });
  return parts;
}

/** The value of `--array` for a part: `0-N`, with `%P` when at most P tasks may run at once. */
export function arraySpec(part: ArrayPart, maxParallel?: number): string {
  return `0-${part.count - 1}${maxParallel === undefined ? "" : `%${maxParallel}`}`;
}
