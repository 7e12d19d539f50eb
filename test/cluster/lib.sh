# shellcheck shell=bash
# Helpers shared by start.sh and stop.sh (sourced, not run).

# running PID: the process exists and is not a zombie. (Daemons are reparented
# to PID 1, which in containers/VMs without a real init may reap them late, so
# /proc/PID of a dead daemon can linger for a second or two.)
running() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $st && $st != Z* ]]
}

# pid_alive PIDFILE NAME: the pid in PIDFILE is a running process called NAME.
pid_alive() {
  local pidfile=$1 name=$2 pid comm
  [[ -s $pidfile ]] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n $pid ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$name" ]] && running "$pid"
}
