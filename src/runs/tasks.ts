/**
 * The records a sweep's tasks leave when their program ends (tasks/POINT.json
 * in the run directory, one JSON line each, written by the job script's
 * partials/task-end.njk): how each point ended, known even where sacct is
 * missing or forgetful. A resubmitted task's record replaces the one before.
 */
import { posix } from "node:path";
import { z } from "zod";
import type { Executor } from "../exec/executor.js";
import { TASK_RECORDS } from "../request/sweep.js";

/** One task's end, as the job script writes it. */
export const TaskRecordSchema = z.object({
  index: z.number().int().nonnegative(),
  arrayJobId: z.string(),
  taskId: z.string(),
  jobId: z.string(),
  exitCode: z.number().int(),
  /** The signal's name (TERM, KILL ...) when the code was 128+N, else null. */
  signal: z.string().nullable(),
  start: z.string(),
  end: z.string(),
  node: z.string(),
});
/** One task's end. */
export type TaskRecord = z.infer<typeof TaskRecordSchema>;

/** The records in `text` (one JSON object a line) by point index; a line that is not a record is left out. */
export function parseTaskRecords(text: string): Map<number, TaskRecord> {
  const records = new Map<number, TaskRecord>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    const r = TaskRecordSchema.safeParse(value);
    if (r.success) records.set(r.data.index, r.data);
  }
  return records;
}

/** Every task record of the run, read in one command (no folder yet: none). */
export async function readTaskRecords(exec: Executor, runDir: string): Promise<Map<number, TaskRecord>> {
  const dir = posix.join(runDir, TASK_RECORDS);
  // One call however many tasks: find concatenates the finished records (not the .partial files being written).
  const r = await exec.run(["find", dir, "-maxdepth", "1", "-name", "[0-9]*.json", "-exec", "cat", "{}", "+"]);
  return parseTaskRecords(r.code === 0 ? r.stdout : "");
}
