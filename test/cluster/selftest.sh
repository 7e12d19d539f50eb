#!/usr/bin/env bash
# Check a cluster brought up by start.sh the way the end-to-end tests use it.
# Prints one line per check and "N passed, N failed" at the end; exit 1 if
# any check failed. Takes ~30 s (it stops slurmctld for 10 s on purpose).
# Leaves the cluster running and cancels every job it submitted.
#
# Usage: sudo bash test/cluster/selftest.sh [--no-jupyter] [--no-ctld-restart]
# Env:   HPCJOB_CLUSTER_DIR (default /tmp/hpcjob-cluster),
#        HPCJOB_CLUSTER_SSH_PORT (default 2222)
set -uo pipefail

STATE=${HPCJOB_CLUSTER_DIR:-/tmp/hpcjob-cluster}
SSH_PORT=${HPCJOB_CLUSTER_SSH_PORT:-2222}
JUPYTER=1
CTLD_RESTART=1
for arg in "$@"; do
  case $arg in
    --no-jupyter) JUPYTER=0 ;;
    --no-ctld-restart) CTLD_RESTART=0 ;;
    *)
      echo "selftest.sh: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done
[[ $(id -u) -eq 0 ]] || {
  echo "selftest.sh: must run as root" >&2
  exit 1
}

PASS=0
FAIL=0
ok() {
  PASS=$((PASS + 1))
  echo "ok   - $*"
}
bad() {
  FAIL=$((FAIL + 1))
  echo "FAIL - $*"
}
check() { # DESCRIPTION CMD...
  local d=$1
  shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
as_alice() { runuser -u alice -- "$@"; }
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
wait_state() { # JOBID STATE... ; waits up to 30 s
  local jid=$1 s
  shift
  for _ in $(seq 150); do
    s=$(job_state "$jid")
    for want in "$@"; do [[ $s == "$want" ]] && return 0; done
    sleep 0.2
  done
  echo "  job $jid is '$s', wanted $*" >&2
  return 1
}

OUT=$(mktemp -d /tmp/hpcjob-selftest.XXXXXX)
chmod 1777 "$OUT"
SUBMITTED=()
JUP_PID=
cleanup() {
  if ((${#SUBMITTED[@]})); then scancel "${SUBMITTED[@]}" 2>/dev/null; fi
  if [[ -n $JUP_PID ]]; then kill "$JUP_PID" 2>/dev/null; fi
  rm -rf "$OUT"
}
trap cleanup EXIT
submit() { # sbatch args as alice; prints the job id
  local jid
  jid=$(as_alice sbatch --parsable "$@") || return 1
  jid=${jid%%;*}
  SUBMITTED+=("$jid")
  echo "$jid"
}

NODE=$(hostname -s)

# --- basics
check "getent hosts $NODE" bash -c "getent hosts $NODE >/dev/null"
check "munge -n | unmunge" bash -c 'munge -n | unmunge >/dev/null'
check "node $NODE idle/mix/alloc" bash -c "sinfo -h -n $NODE -o %t | grep -Eq '^(idle|mix|alloc)$'"
check "partitions gpu*, short, cpu" bash -c "[[ \$(sinfo -h -o %P | sort | tr '\n' ' ') == 'cpu gpu* short ' ]]"
check "ssh alice@127.0.0.1:$SSH_PORT (BatchMode)" \
  as_alice ssh -p "$SSH_PORT" -o BatchMode=yes alice@127.0.0.1 true
check "ssh bob@127.0.0.1:$SSH_PORT (BatchMode)" \
  runuser -u bob -- ssh -p "$SSH_PORT" -o BatchMode=yes bob@127.0.0.1 true
check "alice cannot log in as bob" \
  bash -c "! runuser -u alice -- ssh -p $SSH_PORT -o BatchMode=yes bob@127.0.0.1 true 2>/dev/null"
check "sbatch over ssh" \
  as_alice ssh -p "$SSH_PORT" -o BatchMode=yes alice@127.0.0.1 "sbatch --parsable -p short -t 1 -o /dev/null --wrap true >/dev/null"

# --- GPU requests
i=0
for spec in --gpus-per-node=A40:1 --gres=gpu:T4:1 --gpus=1 --gpus-per-node=A40:2; do
  jid=$(submit -p short -t 1 -c 1 --mem=100 "$spec" -o "$OUT/gpu-$i.out" \
    --wrap 'echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"')
  if [[ -n $jid ]] && wait_state "$jid" COMPLETED && grep -q 'CUDA_VISIBLE_DEVICES=[0-9]' "$OUT/gpu-$i.out"; then
    ok "job $spec completes and sees $(cat "$OUT/gpu-$i.out")"
  else
    bad "job $spec"
  fi
  i=$((i + 1))
done
if as_alice sbatch -p short -t 1 --gpus-per-node=A40:3 --wrap true >/dev/null 2>&1; then
  bad "--gpus-per-node=A40:3 should be rejected at submit"
else
  ok "--gpus-per-node=A40:3 rejected at submit"
fi

# --- squeue, pending, --start, scancel
j1=$(submit -p cpu -c "$(nproc)" --mem=100 -t 10 -o /dev/null --wrap 'sleep 600')
j2=$(submit -p cpu -c "$(nproc)" --mem=100 -t 10 -o /dev/null --wrap 'sleep 600')
check "job $j1 RUNNING" wait_state "$j1" RUNNING
sleep 2.5 # let the scheduler give the second job its reason
line=$(as_alice squeue -h -o '%i|%T|%r|%N' -j "$j2")
check "squeue -h -o '%i|%T|%r|%N': $line" bash -c "[[ '$line' == '$j2|PENDING|Resources|' ]]"
line1=$(as_alice squeue -h -o '%i|%T|%r|%N' -j "$j1")
check "squeue running: $line1" bash -c "[[ '$line1' == '$j1|RUNNING|None|$NODE' ]]"
start=$(as_alice squeue --start -h -j "$j2" -o '%S')
check "squeue --start for pending job: $start" bash -c "[[ '$start' == 20[0-9][0-9]-* ]]"

if ((CTLD_RESTART)); then
  kill "$(cat "$STATE/slurmctld.pid")"
  sleep 10
  slurmctld
  for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
  check "after slurmctld down 10 s: $j1 still RUNNING" wait_state "$j1" RUNNING
  check "after slurmctld down 10 s: $j2 still PENDING" wait_state "$j2" PENDING
  check "node back to alloc/mix" bash -c "for _ in \$(seq 60); do sinfo -h -n $NODE -o %t | grep -Eq '^(alloc|mix)$' && exit 0; sleep 0.5; done; exit 1"
fi

if runuser -u bob -- scancel "$j1" 2>/dev/null; then bad "bob could scancel alice's job"; else ok "bob cannot scancel alice's job"; fi
check "alice scancel $j1" as_alice scancel "$j1"
check "$j1 CANCELLED" wait_state "$j1" CANCELLED
check "$j2 starts after $j1 is cancelled" wait_state "$j2" RUNNING
check "alice scancel $j2" as_alice scancel "$j2"
check "$j2 CANCELLED" wait_state "$j2" CANCELLED
check "no 'sleep 600' left behind" bash -c "sleep 1; ! pgrep -u alice -f 'sleep 600' >/dev/null"
check "scontrol show job remembers finished jobs" bash -c "scontrol show job $j1 | grep -q JobState=CANCELLED"

# --- Jupyter (Debian jupyter-server 1.23)
if ((JUPYTER)); then
  as_alice env JUPYTER_TOKEN=abc jupyter server --no-browser --ip=0.0.0.0 --port=28888 \
    --ServerApp.port_retries=0 >"$OUT/jupyter.log" 2>&1 &
  JUP_PID=$!
  code=000
  for _ in $(seq 80); do
    code=$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:28888/api/status?token=abc')
    [[ $code == 200 ]] && break
    sleep 0.25
  done
  check "jupyter server: /api/status?token=abc -> $code" test "$code" = 200
  code=$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:28888/api/status')
  check "jupyter server: no token -> $code" test "$code" = 403
  if grep -q 'token=abc' "$OUT/jupyter.log"; then
    echo "note - jupyter logs the JUPYTER_TOKEN in clear"
  elif grep -q 'token=\.\.\.' "$OUT/jupyter.log"; then
    echo "note - jupyter logs '?token=...' (masked) for a JUPYTER_TOKEN"
  fi
  # Kill the server itself: killing runuser alone does not always stop it.
  pkill -TERM -P "$JUP_PID" 2>/dev/null
  kill "$JUP_PID" 2>/dev/null
  JUP_PID=
  check "jupyter server stopped" bash -c "for _ in \$(seq 40); do pgrep -u alice -f 'jupyter-server.*28888' >/dev/null || exit 0; sleep 0.25; done; exit 1"
fi

echo "$PASS passed, $FAIL failed"
((FAIL == 0))
