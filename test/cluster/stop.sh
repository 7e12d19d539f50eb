#!/usr/bin/env bash
# Stop the single-machine test cluster started by start.sh: slurmd,
# slurmctld, slurmdbd and its MariaDB, munged and the two test sshds (login, login2), each by its pid
# file. Users, keys, config files and the state dir (saved Slurm jobs) are
# left in place, so a later start.sh picks up where this left off. Idempotent.
#
# Usage: sudo bash test/cluster/stop.sh
# Env:   HPCJOB_CLUSTER_DIR   state directory (default /tmp/hpcjob-cluster)
set -euo pipefail

STATE=${HPCJOB_CLUSTER_DIR:-/tmp/hpcjob-cluster}
MUNGE_PID=/run/munge/munged.pid

if [[ $(id -u) -ne 0 ]]; then
  echo "stop.sh: must run as root" >&2
  exit 1
fi

# One start.sh/stop.sh at a time (test runners may call start.sh in parallel).
exec 9>/run/hpcjob-cluster.lock
if ! flock -w 180 9; then
  echo "stop.sh: another start.sh/stop.sh holds /run/hpcjob-cluster.lock" >&2
  exit 1
fi

# shellcheck source=test/cluster/lib.sh
source "$(dirname "$0")/lib.sh"


# stop PIDFILE NAME: SIGTERM the process named NAME whose pid is in PIDFILE,
# wait up to 10 s, then SIGKILL. Does nothing when it is not running.
stop() {
  local pidfile=$1 name=$2 pid comm
  if [[ ! -s $pidfile ]]; then
    echo "stop.sh: $name not running (no $pidfile)"
    return 0
  fi
  pid=$(tr -dc '0-9' <"$pidfile")
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  if [[ -z $pid || $comm != "$name" ]] || ! running "$pid"; then
    echo "stop.sh: $name not running (stale $pidfile)"
    rm -f "$pidfile"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    if ! running "$pid"; then
      echo "stop.sh: stopped $name (pid $pid)"
      rm -f "$pidfile"
      return 0
    fi
    sleep 0.1
  done
  echo "stop.sh: $name (pid $pid) ignored SIGTERM for 10 s: SIGKILL" >&2
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# Also the state dir named in the slurm.conf that start.sh wrote, in case the
# cluster was started with another HPCJOB_CLUSTER_DIR.
dirs=("$STATE")
conf=/etc/slurm/slurm.conf
if [[ -f $conf ]] && grep -q '^# Written by hpcjob test/cluster/start.sh' "$conf"; then
  old=$(sed -n 's|^StateSaveLocation=\(.*\)/slurmctld$|\1|p' "$conf")
  if [[ -n $old && $old != "$STATE" ]]; then dirs+=("$old"); fi
fi

for d in "${dirs[@]}"; do
  stop "$d/slurmd.pid" slurmd
  stop "$d/slurmctld.pid" slurmctld
  stop "$d/sshd.pid" sshd
  stop "$d/sshd2.pid" sshd
  stop "$d/slurmdbd.pid" slurmdbd
  stop "$d/mysqld/mariadbd.pid" mariadbd
done
stop "$MUNGE_PID" munged

# The test image registry (started by images.sh through registry.sh), if it runs.
bash "$(dirname "$0")/registry.sh" stop
