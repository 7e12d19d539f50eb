/**
 * What happens while hpcjob works (waits for a job, connects), as data.
 * Commands, session/ and exec/ report these; cli/ decides how to show them
 * (a live line on a terminal, one line per change otherwise, stderr only).
 */

/** One thing worth telling the user while waiting. */
export type WaitEvent =
  | { kind: "submitted"; jobId: string; runDir: string }
  | { kind: "pending"; jobId: string; reason: string; reasonText: string; startTime?: string }
  | { kind: "starting"; jobId: string; node: string }
  | { kind: "controller-down"; jobId: string }
  | { kind: "controller-back"; jobId: string }
  | { kind: "progress"; text: string }
  | { kind: "note"; text: string };

/** Receives events; the CLI's printer, or a collector in tests. */
export type Reporter = (event: WaitEvent) => void;
