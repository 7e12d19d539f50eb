/**
 * What happens while hpcjob waits for a job, as data. Commands emit these;
 * cli.ts decides how to show them (a live line on a terminal, one line per
 * change otherwise, stderr only).
 */

/** One thing worth telling the user while waiting. */
export type WaitEvent =
  | { kind: "submitted"; jobId: string; runDir: string }
  | { kind: "pending"; jobId: string; reason: string; reasonText: string; startTime?: string }
  | { kind: "starting"; jobId: string; node: string }
  | { kind: "controller-down"; jobId: string }
  | { kind: "controller-back"; jobId: string }
  | { kind: "note"; text: string };

/** Receives events; the CLI's printer, or a collector in tests. */
export type Reporter = (event: WaitEvent) => void;

/** One line of text for an event. */
export function describeEvent(e: WaitEvent): string {
  switch (e.kind) {
    case "submitted":
      return `submitted job ${e.jobId}; run directory ${e.runDir}`;
    case "pending": {
      const start = e.startTime ? `; Slurm expects it to start at ${e.startTime}` : "";
      return `job ${e.jobId} is pending: ${e.reasonText} (${e.reason})${start}`;
    }
    case "starting":
      return `job ${e.jobId} is running on ${e.node}; waiting for Jupyter to answer`;
    case "controller-down":
      return `the Slurm controller does not answer; still waiting for job ${e.jobId}`;
    case "controller-back":
      return `the Slurm controller answers again`;
    case "note":
      return e.text;
  }
}
