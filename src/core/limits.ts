/**
 * The largest numbers hpcjob passes to Slurm, each with the reason, so a
 * request past them is refused with a message instead of reaching sbatch as
 * `1e+23`, a wrapped-around 0 or a garbled time. From Slurm 22.05's
 * slurm/slurm.h and src/common, checked with `sbatch -v --test-only`.
 */

/**
 * CPUs per task: slurm.h keeps cpus_per_task in a uint16_t whose top two
 * values are NO_VAL16 (0xfffe, "not set") and INFINITE16 (0xffff); sbatch
 * copies its int into it unchecked (slurm_opt.c), so 65536 arrives as 0.
 */
export const MAX_CPUS = 0xfffd;

/**
 * Seconds in a time limit: sbatch adds up days, hours, minutes and seconds in
 * an int and then rounds up to minutes with (s + 59) / 60 (parse_time.c
 * time_str2secs/time_str2mins), so 2^31 - 60 s (24855-03:13:08) is the most
 * it reads right; `sbatch -v --test-only --time=24855-03:13:09` shows
 * 2957761-01:02:00.
 */
export const MAX_SECONDS = 2 ** 31 - 60;

/**
 * Memory in MiB and GPU counts: Slurm keeps both in 64 bits (pn_min_memory in
 * MB, whose top bit marks per-CPU memory; GRES counts from strtoull), more
 * than a JavaScript number holds exactly, so hpcjob's bound is the largest
 * whole number it can compute with, 2^53 - 1.
 */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;
