/**
 * How hpcjob reads Slurm's tables (squeue -o, sinfo -o): fields joined by
 * the ASCII unit separator, each record ended by the record separator. Job
 * names, comments and script paths may hold `|`, spaces or even newlines,
 * but no one types these two control characters, so a split never guesses.
 */
import { SlurmError } from "../core/errors.js";

/** Between two fields of one record (ASCII US). */
export const FIELD_SEP = "\x1f";
/** After the last field of a record (ASCII RS); squeue/sinfo add a newline after it. */
export const RECORD_END = "\x1e";

/** A `-o` format for squeue/sinfo from field codes such as `%i`. */
export function outputFormat(codes: readonly string[]): string {
  return codes.join(FIELD_SEP) + RECORD_END;
}

/** Records of output made with `outputFormat`, each exactly `count` fields. */
export function splitRecords(stdout: string, count: number, what: string): string[][] {
  const records: string[][] = [];
  for (const chunk of stdout.split(RECORD_END)) {
    // Each chunk but the first starts with the newline printed after the previous record.
    const text = chunk.replace(/^\r?\n/, "");
    if (text.trim() === "") continue;
    const fields = text.split(FIELD_SEP);
    if (fields.length !== count) {
      throw new SlurmError(`could not read ${what} output: a line has ${fields.length} fields where hpcjob asked for ${count}`, [
        text.replaceAll(FIELD_SEP, "|"),
      ]);
    }
    records.push(fields);
  }
  return records;
}

const NOTHING = new Set(["", "(null)", "N/A", "Unknown"]);

/** Undefined for Slurm's placeholders for "nothing" ("", "(null)", "N/A", "Unknown"), else the value. */
export function orNone(value: string): string | undefined {
  return NOTHING.has(value) ? undefined : value;
}
