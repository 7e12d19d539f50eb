#!/bin/bash
#
# Converts docker-daemon:lab/app:1 for cluster rt-singularity (singularity), rendered by hpcjob.
# One file per image content: the digest decides, not the tag. Written under a
# temporary name and renamed; a lock makes a second conversion of the same
# image wait and then reuse the first one's file; nothing partial is left.
# Modules from the cluster profile.
module load cuda/12.1 || { printf 'hpcjob: module load %s failed; check the module in the cluster profile\n' cuda/12.1 >&2; exit 1; }
module load python/3.11 || { printf 'hpcjob: module load %s failed; check the module in the cluster profile\n' python/3.11 >&2; exit 1; }
# Setup lines from the cluster profile.
export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK
set -euo pipefail
# However it ends, nothing partial is left and the log's last line says how it
# ended (hpcjob reads that line when the conversion runs as a Slurm job).
hpcjob_part=
# The image hpcjob sent from the user's computer for this conversion: removed however it ends.
hpcjob_sent=/tmp/hpcjob-image.Ab12Cd34
hpcjob_end() {
  local code=$?
  if [ -n "$hpcjob_part" ]; then rm -rf "$hpcjob_part" "$hpcjob_part.json"; fi
  rm -f "$hpcjob_sent"
  echo "hpcjob: the program exited with code $code" >&2
}
trap hpcjob_end EXIT
# Stopped (Ctrl-C, scancel, a lost connection): end with the signal's code, not 0, so the exit line tells the truth.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# Converted images are for the group too (shared image folders).
umask 0002

hpcjob_ref=docker-daemon:lab/app:1
hpcjob_digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
hpcjob_force=no
hpcjob_dir="$HOME"/.hpcjob/images
hpcjob_out="$hpcjob_dir"/daemon+lab+app+1+0123456789ab.sif
hpcjob_tmp_dir=${TMPDIR:-/tmp}
mkdir -p "$hpcjob_dir" "$hpcjob_tmp_dir"

# singularity builds the SIF from the source; its layer cache and
# scratch space where the profile says (its defaults are in the home folder and /tmp).
export APPTAINER_TMPDIR="$hpcjob_tmp_dir" SINGULARITY_TMPDIR="$hpcjob_tmp_dir"
hpcjob_converter_version() { singularity --version; }
hpcjob_convert() { singularity build "$1" docker-archive:/tmp/hpcjob-image.Ab12Cd34 >&2; }

# The lock: one conversion of this image at a time; a second one waits for it.
exec 9>>"$hpcjob_out.lock"
if ! flock -n 9; then
  echo "hpcjob: waiting for another conversion of this image to finish" >&2
  flock 9
fi

# Up to date: the file is there and its record names this digest.
if [ "$hpcjob_force" != yes ] && [ -f "$hpcjob_out" ] && grep -qF "\"digest\": \"$hpcjob_digest\"" "$hpcjob_out.json" 2>/dev/null; then
  echo "hpcjob: up to date: $hpcjob_out ($hpcjob_digest)" >&2
  exit 0
fi

# Room for the image, before anything is downloaded.
hpcjob_free() { df -P -B1 "$1" | awk 'NR == 2 { print $4 }'; }
hpcjob_need() {
  local dir=$1 bytes=$2 key=$3 free
  free=$(hpcjob_free "$dir")
  if [ "$free" -lt "$bytes" ]; then
    echo "hpcjob: $dir has $((free / 1048576)) MiB free and converting $hpcjob_ref needs about $((bytes / 1048576)) MiB there; free some space or point the profile's $key at a larger folder (group or scratch storage, not a quota'd home)" >&2
    exit 1
  fi
}
hpcjob_need "$hpcjob_tmp_dir" 370370367 container.tmpDir
hpcjob_need "$hpcjob_dir" 185185184 container.imageDir

hpcjob_part="$hpcjob_dir"/.daemon+lab+app+1+0123456789ab.part-"$$".sif
echo "hpcjob: converting $hpcjob_ref ($hpcjob_digest) to $hpcjob_out" >&2
hpcjob_convert "$hpcjob_part"

# The record beside the image: where it came from, what made it, when.
hpcjob_json() { printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g'; }
{
  printf '{\n'
  printf '  "ref": "%s",\n' "$(hpcjob_json "$hpcjob_ref")"
  printf '  "digest": "%s",\n' "$hpcjob_digest"
  printf '  "platform": "%s",\n' linux/amd64
  printf '  "converter": "%s",\n' "$(hpcjob_json "$(hpcjob_converter_version 2>&1 | head -n 1)")"
  printf '  "date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '  "size": %s\n' "$(du -sb "$hpcjob_part" | cut -f1)"
  printf '}\n'
} >"$hpcjob_part.json"
mv -f "$hpcjob_part" "$hpcjob_out"
mv -f "$hpcjob_part.json" "$hpcjob_out.json"
echo "hpcjob: converted: $hpcjob_out" >&2
