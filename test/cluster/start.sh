#!/usr/bin/env bash
# Bring up a real single-machine Slurm cluster (munged, slurmctld, slurmd with
# three fake GPUs) plus an sshd "login node" on 127.0.0.1:2222 with the test
# users alice and bob. Idempotent: whatever is already running and healthy is
# left alone, so a second run exits 0 within a second or so.
#
# Usage: sudo bash test/cluster/start.sh [--verify]
#   --verify   also submit smoke-test jobs as alice (always done when a Slurm
#              daemon had to be started)
# Env:
#   HPCJOB_CLUSTER_DIR   state directory (default /tmp/hpcjob-cluster)
#   HPCJOB_CLUSTER_SSH_PORT  port of the test sshd (default 2222)
#
# Run test/cluster/install.sh first. See README.md in this folder.
set -euo pipefail

STATE=${HPCJOB_CLUSTER_DIR:-/tmp/hpcjob-cluster}
SSH_PORT=${HPCJOB_CLUSTER_SSH_PORT:-2222}
USERS=(alice bob)
# The controller and sshd (the login node) run as this host; the compute node
# gets a name and loopback address of its own, as on a real cluster, so a
# tunnel from the "laptop" (127.0.0.1:P) and Jupyter on the node (NODE_ADDR:P)
# can use the same port number.
HOST=$(hostname -s)
NODE=${HPCJOB_CLUSTER_NODE:-gpu-node1}
NODE_ADDR=${HPCJOB_CLUSTER_NODE_ADDR:-127.0.1.1}
SLURM_CONF=/etc/slurm/slurm.conf
GRES_CONF=/etc/slurm/gres.conf
SSHD_CONFIG=$STATE/sshd_config
SSHD_LOG=$STATE/sshd.log
MUNGE_PID=/run/munge/munged.pid

VERIFY=0
for arg in "$@"; do
  case $arg in
    --verify) VERIFY=1 ;;
    -h | --help)
      sed -n '2,15p' "$0"
      exit 0
      ;;
    *)
      echo "start.sh: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

T0=${EPOCHREALTIME/,/.}
log() { printf '[start.sh %5.1fs] %s\n' "$(awk -v a="$T0" -v b="${EPOCHREALTIME/,/.}" 'BEGIN{print b-a}')" "$*"; }
die() {
  echo "start.sh: ERROR: $*" >&2
  exit 1
}

if [[ $(id -u) -ne 0 ]]; then
  die "must run as root"
fi
for cmd in slurmctld slurmd munged sshd sbatch runuser ssh-keygen; do
  command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd ]] ||
    die "$cmd not found: run test/cluster/install.sh first"
done

# shellcheck source=test/cluster/lib.sh
source "$(dirname "$0")/lib.sh"


# stop_daemon PIDFILE NAME: SIGTERM, wait up to 10 s, SIGKILL.
stop_daemon() {
  local pidfile=$1 name=$2 pid
  pid_alive "$pidfile" "$name" || return 0
  pid=$(tr -dc '0-9' <"$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    running "$pid" || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

# write_if_changed FILE MODE CONTENT: returns 0 if the file was (re)written.
write_if_changed() {
  local file=$1 mode=$2 content=$3
  if [[ -f $file ]] && [[ "$(cat "$file")" == "$content" ]]; then
    return 1
  fi
  printf '%s\n' "$content" >"$file.tmp.$$"
  chmod "$mode" "$file.tmp.$$"
  mv -f "$file.tmp.$$" "$file"
  return 0
}

show_logs() {
  local f
  for f in "$@"; do
    if [[ -f $f ]]; then
      echo "----- tail of $f -----" >&2
      tail -n 25 "$f" >&2
    fi
  done
}

# One start.sh/stop.sh at a time (test runners may call start.sh in parallel).
# Daemons are started with 9>&- so that they do not inherit (and hold) the lock.
exec 9>/run/hpcjob-cluster.lock
if ! flock -w 180 9; then
  echo "start.sh: another start.sh/stop.sh holds /run/hpcjob-cluster.lock" >&2
  exit 1
fi

mkdir -p "$STATE"
chmod 755 "$STATE"

# ---------------------------------------------------------------- hostname
if ! getent hosts "$HOST" >/dev/null; then
  log "adding $HOST to /etc/hosts"
  echo "127.0.0.1 $HOST" >>/etc/hosts
fi
if [[ $(getent hosts "$NODE" | awk '{print $1; exit}') != "$NODE_ADDR" ]]; then
  log "adding $NODE ($NODE_ADDR) to /etc/hosts"
  sed -i "/[[:space:]]$NODE\$/d" /etc/hosts
  echo "$NODE_ADDR $NODE" >>/etc/hosts
fi

# ---------------------------------------------------------------- munge
mkdir -p /etc/munge /var/log/munge /var/lib/munge /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
  log "creating munge key"
  if command -v mungekey >/dev/null 2>&1 || [[ -x /usr/sbin/mungekey ]]; then
    PATH=$PATH:/usr/sbin mungekey -c -f -k /etc/munge/munge.key
  else
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  fi
fi
chown -R munge:munge /etc/munge /var/log/munge /var/lib/munge /run/munge
chmod 700 /etc/munge /var/log/munge /var/lib/munge
chmod 755 /run/munge
chmod 400 /etc/munge/munge.key

if pid_alive "$MUNGE_PID" munged && munge -n | unmunge >/dev/null 2>&1; then
  :
else
  log "starting munged"
  stop_daemon "$MUNGE_PID" munged # running but not answering
  rm -f "$MUNGE_PID"
  # --force: remove a stale socket left behind by a killed munged.
  runuser -u munge -- /usr/sbin/munged --force 9>&-
  for _ in $(seq 50); do
    if munge -n | unmunge >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  munge -n | unmunge >/dev/null 2>&1 || {
    show_logs /var/log/munge/munged.log
    die "munge -n | unmunge fails after starting munged"
  }
fi

# ---------------------------------------------------------------- slurm config
mkdir -p /etc/slurm "$STATE/slurmctld" "$STATE/slurmd" "$STATE/dev" "$STATE/log"

# Fake GPUs: character devices equal to /dev/null. gres.conf needs File= per
# GPU, otherwise slurmd registers 0 GPUs and the node goes INVAL.
for i in 0 1 2; do
  dev=$STATE/dev/nvidia$i
  if [[ ! -c $dev ]]; then
    rm -f "$dev"
    mknod -m 666 "$dev" c 1 3
  fi
done

# Topology as slurmd sees it (a mismatch makes slurmd complain or the node
# INVAL); fall back to CPUs=$(nproc).
HW=$(slurmd -C 2>/dev/null | head -n1 || true)
hwval() { sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p" <<<"$HW"; }
CPUS=$(hwval CPUs)
CPUS=${CPUS:-$(nproc)}
SOCKETS=$(hwval SocketsPerBoard)
CORES=$(hwval CoresPerSocket)
THREADS=$(hwval ThreadsPerCore)
if [[ -n $SOCKETS && -n $CORES && -n $THREADS ]] && ((SOCKETS * CORES * THREADS == CPUS)); then
  TOPO="CPUs=$CPUS Boards=1 SocketsPerBoard=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS"
else
  TOPO="CPUs=$CPUS"
fi
MEM_TOTAL=$(free -m | awk '/^Mem:/ {print $2}')
REAL_MEM=8000
if ((MEM_TOTAL - 256 < REAL_MEM)); then
  REAL_MEM=$((MEM_TOTAL - 256))
fi

SLURM_CONF_TEXT="# Written by hpcjob test/cluster/start.sh -- do not edit, it is rewritten.
ClusterName=hpcjob-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2,bf_resolution=60
ReturnToService=2
GresTypes=gpu
MailProg=/bin/true
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=10
SlurmdTimeout=60
MessageTimeout=5
InactiveLimit=0
KillWait=5
MinJobAge=300
Waittime=0
NodeName=$NODE NodeAddr=$NODE_ADDR NodeHostname=$HOST $TOPO RealMemory=$REAL_MEM Gres=gpu:A40:2,gpu:T4:1 State=UNKNOWN
PartitionName=gpu Nodes=$NODE Default=YES MaxTime=2-00:00:00 State=UP
PartitionName=short Nodes=$NODE Default=NO MaxTime=01:00:00 State=UP
PartitionName=cpu Nodes=$NODE Default=NO MaxTime=7-00:00:00 State=UP"

GRES_CONF_TEXT="# Written by hpcjob test/cluster/start.sh -- do not edit, it is rewritten.
NodeName=$NODE Name=gpu Type=A40 File=$STATE/dev/nvidia[0-1]
NodeName=$NODE Name=gpu Type=T4 File=$STATE/dev/nvidia2"

# The state dir of a cluster started earlier (maybe with another
# HPCJOB_CLUSTER_DIR), read from the slurm.conf that start.sh wrote then.
OLD_STATE=
if [[ -f $SLURM_CONF ]] && grep -q '^# Written by hpcjob test/cluster/start.sh' "$SLURM_CONF"; then
  OLD_STATE=$(sed -n 's|^StateSaveLocation=\(.*\)/slurmctld$|\1|p' "$SLURM_CONF")
fi
if [[ -n $OLD_STATE && $OLD_STATE != "$STATE" ]]; then
  if pid_alive "$OLD_STATE/slurmctld.pid" slurmctld || pid_alive "$OLD_STATE/slurmd.pid" slurmd ||
    pid_alive "$OLD_STATE/sshd.pid" sshd; then
    log "stopping the cluster running from $OLD_STATE (now using $STATE)"
  fi
  stop_daemon "$OLD_STATE/slurmd.pid" slurmd
  stop_daemon "$OLD_STATE/slurmctld.pid" slurmctld
  stop_daemon "$OLD_STATE/sshd.pid" sshd
fi

CONF_CHANGED=0
if write_if_changed "$SLURM_CONF" 644 "$SLURM_CONF_TEXT"; then CONF_CHANGED=1; fi
if write_if_changed "$GRES_CONF" 644 "$GRES_CONF_TEXT"; then CONF_CHANGED=1; fi

# ---------------------------------------------------------------- slurm daemons
CTLD_PID=$STATE/slurmctld.pid
SLURMD_PID=$STATE/slurmd.pid
SLURM_STARTED=0

if ((CONF_CHANGED)); then
  if pid_alive "$CTLD_PID" slurmctld || pid_alive "$SLURMD_PID" slurmd; then
    log "slurm.conf/gres.conf changed: restarting slurmd and slurmctld"
    stop_daemon "$SLURMD_PID" slurmd
    stop_daemon "$CTLD_PID" slurmctld
  fi
fi

if ! pid_alive "$CTLD_PID" slurmctld; then
  log "starting slurmctld"
  rm -f "$CTLD_PID"
  # No -c: the saved state (jobs, node state) in StateSaveLocation is kept.
  slurmctld 9>&- || {
    show_logs "$STATE/log/slurmctld.log"
    die "slurmctld failed to start"
  }
  SLURM_STARTED=1
fi
ok=0
for _ in $(seq 100); do
  if scontrol ping 2>/dev/null | grep -q 'is UP'; then
    ok=1
    break
  fi
  sleep 0.2
done
if ((!ok)); then
  show_logs "$STATE/log/slurmctld.log"
  die "slurmctld does not answer (scontrol ping)"
fi

if ! pid_alive "$SLURMD_PID" slurmd; then
  log "starting slurmd"
  rm -f "$SLURMD_PID"
  slurmd -N "$NODE" 9>&- || {
    show_logs "$STATE/log/slurmd.log"
    die "slurmd failed to start"
  }
  SLURM_STARTED=1
fi

node_state() { sinfo -h -n "$NODE" -o %t 2>/dev/null | sort -u | head -n1; }
# The node may come up unk/down/drain (e.g. after a restart): resume it and
# wait for idle (or mix/alloc when jobs from before are still running).
deadline=$((SECONDS + 60))
resumed_at=0
while :; do
  st=$(node_state)
  case $st in
    idle | mix | mixed | alloc | comp | idle~) break ;;
    down* | drain* | drng* | fail* | inval*)
      if ((SECONDS - resumed_at >= 5)); then
        scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
        resumed_at=$SECONDS
      fi
      ;;
  esac
  if ((SECONDS >= deadline)); then
    echo "start.sh: node $NODE did not become idle within 60 s (state: '${st:-?}')" >&2
    scontrol show node "$NODE" >&2 || true
    show_logs "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log"
    exit 1
  fi
  sleep 0.5
done
[[ $SLURM_STARTED -eq 1 ]] && log "node $NODE is $st"

# ---------------------------------------------------------------- test users
for u in "${USERS[@]}"; do
  if ! id "$u" >/dev/null 2>&1; then
    log "creating user $u"
    useradd -m -s /bin/bash "$u"
  fi
  # A '!' in the password field locks the account, and sshd (UsePAM no) then
  # refuses even a valid key. '*' = no password login, but not locked.
  if [[ $(getent shadow "$u" | cut -d: -f2) != '*' ]]; then
    usermod -p '*' "$u"
  fi
done

# ---------------------------------------------------------------- sshd
mkdir -p /run/sshd
chmod 755 /run/sshd
HOSTKEY=$STATE/ssh_host_ed25519_key
if [[ ! -s $HOSTKEY || ! -s $HOSTKEY.pub ]]; then
  rm -f "$HOSTKEY" "$HOSTKEY.pub"
  ssh-keygen -q -t ed25519 -N '' -C "hpcjob-test-login" -f "$HOSTKEY"
fi
chmod 600 "$HOSTKEY"

SSHD_CONFIG_TEXT="# Written by hpcjob test/cluster/start.sh -- do not edit, it is rewritten.
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $HOSTKEY
PidFile $STATE/sshd.pid
LogLevel VERBOSE
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin no
UsePAM no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
X11Forwarding no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 50
Subsystem sftp /usr/lib/openssh/sftp-server"
SSHD_CHANGED=0
if write_if_changed "$SSHD_CONFIG" 644 "$SSHD_CONFIG_TEXT"; then SSHD_CHANGED=1; fi
/usr/sbin/sshd -t -f "$SSHD_CONFIG" || die "sshd -t rejects $SSHD_CONFIG"

SSHD_PID=$STATE/sshd.pid
if ((SSHD_CHANGED)) && pid_alive "$SSHD_PID" sshd; then
  log "sshd config changed: restarting the test sshd"
  stop_daemon "$SSHD_PID" sshd
fi
if ! pid_alive "$SSHD_PID" sshd; then
  log "starting sshd on 127.0.0.1:$SSH_PORT"
  rm -f "$SSHD_PID"
  /usr/sbin/sshd -f "$SSHD_CONFIG" -E "$SSHD_LOG" 9>&- || {
    show_logs "$SSHD_LOG"
    die "sshd failed to start"
  }
  for _ in $(seq 50); do
    pid_alive "$SSHD_PID" sshd && break
    sleep 0.1
  done
  pid_alive "$SSHD_PID" sshd || {
    show_logs "$SSHD_LOG"
    die "sshd did not write $SSHD_PID"
  }
fi

# ---------------------------------------------------------------- user keys
HOST_PUB=$(cut -d' ' -f1-2 "$HOSTKEY.pub")
for u in "${USERS[@]}"; do
  home=$(getent passwd "$u" | cut -d: -f6)
  group=$(id -gn "$u")
  sshdir=$home/.ssh
  mkdir -p "$sshdir"
  if [[ ! -s $sshdir/id_ed25519 || ! -s $sshdir/id_ed25519.pub ]]; then
    rm -f "$sshdir/id_ed25519" "$sshdir/id_ed25519.pub"
    ssh-keygen -q -t ed25519 -N '' -C "$u@hpcjob-test" -f "$sshdir/id_ed25519"
  fi
  pub=$(cat "$sshdir/id_ed25519.pub")
  [[ -e $sshdir/authorized_keys ]] || : >"$sshdir/authorized_keys"
  grep -qxF "$pub" "$sshdir/authorized_keys" || echo "$pub" >>"$sshdir/authorized_keys"
  # known_hosts: drop earlier entries of the test sshd (its host key changes
  # when the state dir is wiped), then add the current one.
  kh=$sshdir/known_hosts
  [[ -e $kh ]] || : >"$kh"
  want="[127.0.0.1]:$SSH_PORT $HOST_PUB
[localhost]:$SSH_PORT $HOST_PUB"
  if ! grep -qxF "[127.0.0.1]:$SSH_PORT $HOST_PUB" "$kh" || ! grep -qxF "[localhost]:$SSH_PORT $HOST_PUB" "$kh"; then
    grep -vF -e "[127.0.0.1]:$SSH_PORT " -e "[localhost]:$SSH_PORT " "$kh" >"$kh.tmp" || true
    printf '%s\n' "$want" >>"$kh.tmp"
    mv -f "$kh.tmp" "$kh"
  fi
  chown -R "$u:$group" "$sshdir"
  chmod 700 "$sshdir"
  chmod 600 "$sshdir/id_ed25519" "$sshdir/authorized_keys"
  chmod 644 "$sshdir/id_ed25519.pub" "$kh"
  chmod go-w "$home"
done

# ---------------------------------------------------------------- checks
for u in "${USERS[@]}"; do
  out=$(runuser -u "$u" -- ssh -p "$SSH_PORT" -o BatchMode=yes -o ConnectTimeout=5 "$u@127.0.0.1" 'echo ok; command -v sbatch' 2>&1) || {
    echo "$out" >&2
    show_logs "$SSHD_LOG"
    die "ssh as $u to 127.0.0.1:$SSH_PORT fails"
  }
  [[ $out == ok*sbatch* ]] || die "ssh as $u: unexpected output: $out"
done

if ((SLURM_STARTED || VERIFY)); then
  log "smoke test: jobs as alice with --gpus-per-node=A40:1, --gres=gpu:T4:1, --gpus=1"
  tmpd=$(mktemp -d /tmp/hpcjob-smoke.XXXXXX)
  chmod 1777 "$tmpd"
  jobs=()
  i=0
  for spec in --gpus-per-node=A40:1 --gres=gpu:T4:1 --gpus=1; do
    # (sbatch --wait would work too, but it polls slowly: ~10 s for a 1 s job)
    jid=$(runuser -u alice -- sbatch --parsable -p short -t 1 -c 1 --mem=100 "$spec" \
      -o "$tmpd/job-$i-%j.out" --wrap 'echo "host=$(hostname) CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"') ||
      die "sbatch as alice failed ($spec)"
    jobs+=("${jid%%;*}")
    i=$((i + 1))
  done
  deadline=$((SECONDS + 60))
  busy_after=$((SECONDS + 10))
  busy=
  for jid in "${jobs[@]}"; do
    while :; do
      info=$(scontrol show job "$jid" 2>/dev/null || true)
      js=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$info")
      reason=$(sed -n 's/.*JobState=PENDING Reason=\([^ ]*\).*/\1/p' <<<"$info")
      case $js in
        COMPLETED) break ;;
        PENDING)
          # Jobs left running from before the restart may fill the node.
          if [[ $reason == Resources || $reason == Priority ]] && ((SECONDS >= busy_after)); then
            busy=$reason
            break 2
          fi
          ;;
        CONFIGURING | RUNNING | COMPLETING | "") ;;
        *)
          scontrol show job "$jid" >&2 || true
          show_logs "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log"
          die "smoke-test job $jid ended $js"
          ;;
      esac
      if ((SECONDS >= deadline)); then
        scontrol show job "$jid" >&2 || true
        show_logs "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log"
        die "smoke-test job $jid not done within 60 s (state $js)"
      fi
      sleep 0.2
    done
  done
  if [[ -n $busy ]]; then
    log "WARNING: smoke test skipped: node busy with other jobs for 10 s (pending reason $busy)"
    scancel "${jobs[@]}" 2>/dev/null || true
  elif [[ $(grep -l 'CUDA_VISIBLE_DEVICES=[0-9]' "$tmpd"/job-*.out 2>/dev/null | wc -l) -ne 3 ]]; then
    head -n 5 "$tmpd"/* >&2 || true
    die "smoke-test jobs did not see CUDA_VISIBLE_DEVICES"
  fi
  rm -rf "$tmpd"
fi

# ---------------------------------------------------------------- summary
PARTS=$(sinfo -h -o '%P(%l)' | tr '\n' ' ')
log "cluster ready"
cat <<EOF
  state dir : $STATE
  node      : $NODE ($(sinfo -h -n "$NODE" -o '%t, %c CPUs, %m MB, %G'))
  partitions: $PARTS
  login     : ssh -p $SSH_PORT alice@127.0.0.1 (users: ${USERS[*]}; run as e.g. runuser -u alice -- ...)
  logs      : $STATE/log/slurmctld.log $STATE/log/slurmd.log $SSHD_LOG
EOF
