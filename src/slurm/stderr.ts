/**
 * What Slurm's commands print on stderr when they fail, sorted into the two
 * cases hpcjob acts on: the controller did not answer (wait and ask again)
 * and the job is not known (it ended long enough ago to be forgotten).
 * The texts are Slurm's error strings (slurm_errno.c), the same for squeue,
 * sbatch, scancel, scontrol and sinfo; only their prefixes differ.
 */

// Recorded from Slurm 22.05 with the controller unreachable (connect failure),
// accepting but silent (timeout) and closing the connection (zero bytes); see
// test/fixtures/slurm/*-controller-down.stderr.txt and friends.
const CONTROLLER_DOWN = [
  // connect, send, receive or shutdown failure
  /Unable to contact slurm controller/i,
  /Socket timed out on send\/recv operation/i,
  /Zero Bytes were transmitted or received/i,
  // On sites with a backup controller, while control passes between them:
  // "Slurm backup controller in standby mode" and, in newer Slurm,
  // "Controller is in standby mode, try a different controller".
  /backup controller in standby mode/i,
  /controller is in standby mode/i,
];

/**
 * True when the command failed because slurmctld did not answer. For sbatch
 * a timeout does not mean nothing was submitted: the job may exist.
 */
export function isControllerDown(stderr: string): boolean {
  return CONTROLLER_DOWN.some((re) => re.test(stderr));
}

/** True for "slurm_load_jobs error: Invalid job id specified": Slurm does not know (or no longer remembers) the job. */
export function isInvalidJobId(stderr: string): boolean {
  return /Invalid job id specified/i.test(stderr);
}

/**
 * True when Slurm refused a job for its account: on a site that enforces
 * associations, the user has no account, names one they are not in, or one
 * not allowed on the partition (slurm_errno.c ESLURM_INVALID_ACCOUNT).
 */
export function isInvalidAccount(stderr: string): boolean {
  return /Invalid account or account\/partition combination/i.test(stderr);
}
