#!/usr/bin/env bash
# Bring up a real single-machine Slurm cluster (munged, slurmctld, slurmd with
# three fake GPUs) plus an sshd "login node" on 127.0.0.1:2222 with the test
# users alice and bob, and a second one ("login2", 127.0.0.1:2223) with two
# host keys (ECDSA, ed25519) and no sftp subsystem. Idempotent: whatever is already running and healthy is
# left alone, so a second run exits 0 within a second or so.
#
# Usage: sudo bash test/cluster/start.sh [--verify]
#   --verify   also submit smoke-test jobs as alice (always done when a Slurm
#              daemon had to be started)
# Env:
#   HPCJOB_CLUSTER_DIR   state directory (default /tmp/hpcjob-cluster)
#   HPCJOB_CLUSTER_SSH_PORT  port of the test sshd (default 2222)
#   HPCJOB_CLUSTER_SSH2_PORT port of login2, the sshd without sftp (default 2223)
#
# Run test/cluster/install.sh first. See README.md in this folder.
set -euo pipefail

STATE=${HPCJOB_CLUSTER_DIR:-/tmp/hpcjob-cluster}
SSH_PORT=${HPCJOB_CLUSTER_SSH_PORT:-2222}
SSH2_PORT=${HPCJOB_CLUSTER_SSH2_PORT:-2223}
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
SSHD2_CONFIG=$STATE/sshd2_config
SSHD2_LOG=$STATE/sshd2.log
MUNGE_PID=/run/munge/munged.pid

VERIFY=0
for arg in "$@"; do
  case $arg in
    --verify) VERIFY=1 ;;
    -h | --help)
      sed -n '2,17p' "$0"
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
# shellcheck source=test/cluster/accounting.sh
source "$(dirname "$0")/accounting.sh"


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

# new_host_key TYPE FILE COMMENT: a host key pair, made only when missing.
new_host_key() {
  local type=$1 key=$2 comment=$3
  if [[ ! -s $key || ! -s $key.pub ]]; then
    rm -f "$key" "$key.pub"
    ssh-keygen -q -t "$type" -N '' -C "$comment" -f "$key"
  fi
  chmod 600 "$key"
}

# sshd_text PORT PIDFILE MAXSESSIONS HOSTKEY...: the sshd_config of a test
# login node on 127.0.0.1:PORT (keys only, forwarding on, verbose log, at most
# MAXSESSIONS channels per connection), without a newline at the end; the
# caller adds lines (a Subsystem) after it.
sshd_text() {
  local port=$1 pidfile=$2 sessions=$3 key
  shift 3
  printf '%s\n' "# Written by hpcjob test/cluster/start.sh -- do not edit, it is rewritten." "Port $port" "ListenAddress 127.0.0.1"
  for key in "$@"; do printf 'HostKey %s\n' "$key"; done
  printf '%s\n' "PidFile $pidfile" "LogLevel VERBOSE" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
    "PubkeyAuthentication yes" "AuthorizedKeysFile .ssh/authorized_keys" "PermitRootLogin no" "UsePAM no" \
    "AllowTcpForwarding yes" "AllowStreamLocalForwarding yes" "X11Forwarding no" "PrintMotd no" \
    "MaxStartups 100:30:200"
  printf '%s' "MaxSessions $sessions"
}

# ensure_known_hosts FILE PORT KEY...: FILE records exactly these keys
# ("type base64") for [127.0.0.1]:PORT and [localhost]:PORT. Earlier entries
# for that port go (a wiped state dir means new host keys); nothing is
# written when all are there already.
ensure_known_hosts() {
  local kh=$1 port=$2 key h line want="" missing=0
  shift 2
  for key in "$@"; do
    for h in 127.0.0.1 localhost; do
      line="[$h]:$port $key"
      want+="$line"$'\n'
      grep -qxF "$line" "$kh" || missing=1
    done
  done
  if ((missing)); then
    grep -vF -e "[127.0.0.1]:$port " -e "[localhost]:$port " "$kh" >"$kh.tmp" || true
    printf '%s' "$want" >>"$kh.tmp"
    mv -f "$kh.tmp" "$kh"
  fi
}

# ensure_sshd CONFIG TEXT PIDFILE LOG PORT: write the config (restarting a
# running sshd when it changed) and start the sshd unless it runs.
ensure_sshd() {
  local config=$1 text=$2 pidfile=$3 logfile=$4 port=$5 changed=0
  if write_if_changed "$config" 644 "$text"; then changed=1; fi
  /usr/sbin/sshd -t -f "$config" || die "sshd -t rejects $config"
  if ((changed)) && pid_alive "$pidfile" sshd; then
    log "$config changed: restarting its sshd"
    stop_daemon "$pidfile" sshd
  fi
  if ! pid_alive "$pidfile" sshd; then
    log "starting sshd on 127.0.0.1:$port"
    rm -f "$pidfile"
    /usr/sbin/sshd -f "$config" -E "$logfile" 9>&- || {
      show_logs "$logfile"
      die "sshd failed to start ($config)"
    }
    for _ in $(seq 50); do
      pid_alive "$pidfile" sshd && break
      sleep 0.1
    done
    pid_alive "$pidfile" sshd || {
      show_logs "$logfile"
      die "sshd did not write $pidfile"
    }
  fi
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
$(accounting_slurm_conf)
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
    pid_alive "$OLD_STATE/sshd.pid" sshd || pid_alive "$OLD_STATE/sshd2.pid" sshd; then
    log "stopping the cluster running from $OLD_STATE (now using $STATE)"
  fi
  stop_daemon "$OLD_STATE/slurmd.pid" slurmd
  stop_daemon "$OLD_STATE/slurmctld.pid" slurmctld
  stop_daemon "$OLD_STATE/sshd.pid" sshd
  stop_daemon "$OLD_STATE/sshd2.pid" sshd
  stop_daemon "$OLD_STATE/slurmdbd.pid" slurmdbd
  stop_daemon "$OLD_STATE/mysqld/mariadbd.pid" mariadbd
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

# Accounting first: slurmctld registers with slurmdbd when it starts, and
# with AccountingStorageEnforce it refuses jobs of users not yet associated.
ensure_mariadb
ensure_slurmdbd
ensure_associations

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
new_host_key ed25519 "$HOSTKEY" hpcjob-test-login

SSHD_CONFIG_TEXT="$(sshd_text "$SSH_PORT" "$STATE/sshd.pid" 50 "$HOSTKEY")
Subsystem sftp /usr/lib/openssh/sftp-server"
ensure_sshd "$SSHD_CONFIG" "$SSHD_CONFIG_TEXT" "$STATE/sshd.pid" "$SSHD_LOG" "$SSH_PORT"

# ---------------------------------------------------------------- sshd login2
# A second login node for the SSH tests: host keys of two types (so a client
# that knows only one of them must ask for that one) and no sftp subsystem
# (files then go over plain commands). Its own log, so a test can count the
# logins one command makes there.
HOSTKEY2_ED=$STATE/ssh_host2_ed25519_key
HOSTKEY2_EC=$STATE/ssh_host2_ecdsa_key
new_host_key ed25519 "$HOSTKEY2_ED" hpcjob-test-login2
new_host_key ecdsa "$HOSTKEY2_EC" hpcjob-test-login2
# OpenSSH's default MaxSessions (10), as on a real login node: hpcjob must not open more channels at once.
SSHD2_CONFIG_TEXT=$(sshd_text "$SSH2_PORT" "$STATE/sshd2.pid" 10 "$HOSTKEY2_EC" "$HOSTKEY2_ED")
ensure_sshd "$SSHD2_CONFIG" "$SSHD2_CONFIG_TEXT" "$STATE/sshd2.pid" "$SSHD2_LOG" "$SSH2_PORT"
rm -f "$STATE/login2_known_hosts"

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
  kh=$sshdir/known_hosts
  [[ -e $kh ]] || : >"$kh"
  ensure_known_hosts "$kh" "$SSH_PORT" "$HOST_PUB"
  ensure_known_hosts "$kh" "$SSH2_PORT" "$(cut -d' ' -f1-2 "$HOSTKEY2_EC.pub")" "$(cut -d' ' -f1-2 "$HOSTKEY2_ED.pub")"
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
  out=$(runuser -u "$u" -- ssh -p "$SSH2_PORT" -o BatchMode=yes -o ConnectTimeout=5 "$u@127.0.0.1" 'echo ok' 2>&1) || {
    echo "$out" >&2
    show_logs "$SSHD2_LOG"
    die "ssh as $u to 127.0.0.1:$SSH2_PORT (login2) fails"
  }
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
  login2    : ssh -p $SSH2_PORT alice@127.0.0.1 (ECDSA + ed25519 host keys, no sftp)
  logs      : $STATE/log/slurmctld.log $STATE/log/slurmd.log $SSHD_LOG $SSHD2_LOG
EOF
