# shellcheck shell=bash
# Accounting for the test cluster, as real clusters have it (sourced by
# start.sh, which defines log, die, show_logs, stop_daemon, write_if_changed
# and STATE, HOST): a MariaDB of its own (datadir $STATE/mysql, 127.0.0.1:
# ACCT_DB_PORT, no other MariaDB touched), slurmdbd storing into it, and the
# associations the tests rely on: accounts lab-a and lab-b with alice in both
# (default lab-a), bob in none (with AccountingStorageEnforce=associations he
# cannot submit at all, as on a cluster that has not given him an account),
# root in root (made by `sacctmgr add cluster`).

ACCT_DB_PORT=${HPCJOB_CLUSTER_DB_PORT:-3307}
ACCT_DB_DIR=$STATE/mysql
# mariadbd runs as mysql: its socket and pid file live in a folder it owns.
ACCT_DB_RUN=$STATE/mysqld
ACCT_DB_SOCK=$ACCT_DB_RUN/mysqld.sock
ACCT_DB_PID=$ACCT_DB_RUN/mariadbd.pid
ACCT_DB_LOG=$STATE/log/mariadb.log
ACCT_DB_PASS_FILE=$STATE/slurmdbd.pass
SLURMDBD_CONF=/etc/slurm/slurmdbd.conf
SLURMDBD_PID=$STATE/slurmdbd.pid
SLURMDBD_LOG=$STATE/log/slurmdbd.log
ACCT_CLUSTER=hpcjob-test

# The slurm.conf lines that make slurmctld store jobs in slurmdbd and refuse
# jobs of users without an association.
accounting_slurm_conf() {
  printf '%s\n' "AccountingStorageType=accounting_storage/slurmdbd" "AccountingStorageHost=$HOST" \
    "AccountingStorageEnforce=associations"
}

# db_sql SQL: run SQL as MariaDB's root (unix-socket authentication as root).
db_sql() {
  mariadb --no-defaults --socket="$ACCT_DB_SOCK" -u root -e "$1"
}

# ensure_mariadb: the database server runs and holds slurm_acct_db with the
# user slurmdbd logs in as.
ensure_mariadb() {
  mkdir -p "$STATE/log"
  if [[ ! -d $ACCT_DB_DIR/mysql ]]; then
    log "creating the accounting database in $ACCT_DB_DIR"
    rm -rf "$ACCT_DB_DIR"
    mariadb-install-db --no-defaults --user=mysql --datadir="$ACCT_DB_DIR" --skip-test-db \
      --auth-root-authentication-method=socket >"$STATE/log/mariadb-install.log" 2>&1 || {
      show_logs "$STATE/log/mariadb-install.log"
      die "mariadb-install-db failed"
    }
  fi
  if ! pid_alive "$ACCT_DB_PID" mariadbd; then
    log "starting mariadbd on 127.0.0.1:$ACCT_DB_PORT"
    rm -f "$ACCT_DB_PID" "$ACCT_DB_SOCK"
    mkdir -p "$ACCT_DB_RUN" && chown mysql "$ACCT_DB_RUN"
    touch "$ACCT_DB_LOG" && chown mysql "$ACCT_DB_LOG"
    # Small buffers: the whole database is a few hundred jobs.
    setsid mariadbd --no-defaults --user=mysql --datadir="$ACCT_DB_DIR" --socket="$ACCT_DB_SOCK" \
      --port="$ACCT_DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve --pid-file="$ACCT_DB_PID" \
      --log-error="$ACCT_DB_LOG" --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
      --performance-schema=OFF </dev/null >/dev/null 2>&1 9>&- &
    for _ in $(seq 150); do
      mariadb-admin --no-defaults --socket="$ACCT_DB_SOCK" -u root ping >/dev/null 2>&1 && break
      sleep 0.2
    done
    mariadb-admin --no-defaults --socket="$ACCT_DB_SOCK" -u root ping >/dev/null 2>&1 || {
      show_logs "$ACCT_DB_LOG"
      die "mariadbd does not answer on $ACCT_DB_SOCK"
    }
  fi
  if [[ ! -s $ACCT_DB_PASS_FILE ]]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$ACCT_DB_PASS_FILE")
  fi
  chmod 600 "$ACCT_DB_PASS_FILE"
  local pass
  pass=$(cat "$ACCT_DB_PASS_FILE")
  db_sql "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
    CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
    ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" || die "could not set up slurm_acct_db in MariaDB"
}

# ensure_slurmdbd: slurmdbd.conf written (0600, it holds the password) and
# slurmdbd answering sacctmgr.
ensure_slurmdbd() {
  local text
  text="# Written by hpcjob test/cluster/start.sh -- do not edit, it is rewritten.
AuthType=auth/munge
DbdHost=$HOST
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$ACCT_DB_PORT
StorageUser=slurm
StoragePass=$(cat "$ACCT_DB_PASS_FILE")
StorageLoc=slurm_acct_db
PidFile=$SLURMDBD_PID
LogFile=$SLURMDBD_LOG
DebugLevel=info"
  if write_if_changed "$SLURMDBD_CONF" 600 "$text" && pid_alive "$SLURMDBD_PID" slurmdbd; then
    log "slurmdbd.conf changed: restarting slurmdbd"
    stop_daemon "$SLURMDBD_PID" slurmdbd
  fi
  if ! pid_alive "$SLURMDBD_PID" slurmdbd; then
    log "starting slurmdbd"
    rm -f "$SLURMDBD_PID"
    slurmdbd 9>&- || {
      show_logs "$SLURMDBD_LOG"
      die "slurmdbd failed to start"
    }
  fi
  for _ in $(seq 150); do
    sacctmgr -nP show cluster format=cluster >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  show_logs "$SLURMDBD_LOG" "$ACCT_DB_LOG"
  die "slurmdbd does not answer sacctmgr"
}

# ensure_associations: the cluster, lab-a and lab-b, alice in both (default
# lab-a), bob in none. Only what is missing is added.
ensure_associations() {
  if ! sacctmgr -nP show cluster format=cluster | grep -qx "$ACCT_CLUSTER"; then
    log "adding cluster $ACCT_CLUSTER to accounting"
    sacctmgr -i add cluster "$ACCT_CLUSTER" >/dev/null || die "sacctmgr add cluster $ACCT_CLUSTER failed"
  fi
  local have a
  have=$(sacctmgr -nP show account format=account)
  for a in lab-a lab-b; do
    if ! grep -qx "$a" <<<"$have"; then
      sacctmgr -i add account "$a" cluster="$ACCT_CLUSTER" description="hpcjob test lab" organization=hpcjob-test >/dev/null ||
        die "sacctmgr add account $a failed"
    fi
  done
  have=$(sacctmgr -nP show assoc where user=alice format=account)
  if ! grep -qx lab-a <<<"$have" || ! grep -qx lab-b <<<"$have"; then
    log "adding alice to lab-a and lab-b"
    sacctmgr -i add user alice account=lab-a,lab-b defaultaccount=lab-a cluster="$ACCT_CLUSTER" >/dev/null ||
      die "sacctmgr add user alice failed"
  fi
  if [[ -n $(sacctmgr -nP show assoc where user=bob format=account) ]]; then
    sacctmgr -i delete user bob >/dev/null || die "sacctmgr delete user bob failed"
  fi
}
