#!/usr/bin/env bash
# The test image registry: Debian's docker-registry (Distribution 2.8) serving
# HTTPS on 127.0.0.1:$HPCJOB_REGISTRY_PORT (default 5443) with a certificate
# from a test CA made here. Idempotent: `start` leaves a healthy registry alone.
#
# Usage: sudo bash test/cluster/registry.sh start|stop|status
#   start   make the CA and server certificate (when missing or expiring), the
#           CA bundle, /etc/containers/certs.d/127.0.0.1:PORT/ca.crt, the
#           config; start the daemon; wait until /v2/ answers over TLS
#   stop    stop the daemon (by its pid file)
#   status  exit 0 when it runs and answers, else 1
# Env:
#   HPCJOB_IMAGES_DIR     state dir (default /var/cache/hpcjob-test-images):
#                         ca/ and registry/{config.yml,registry.pid,registry.log,storage/}
#   HPCJOB_REGISTRY_PORT  port on 127.0.0.1 (default 5443)
# images.sh pushes the images; see README.md in this folder.
set -euo pipefail
ME=registry.sh
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/cluster/images-lib.sh
source "$HERE/images-lib.sh"
# shellcheck source=test/cluster/lib.sh
source "$HERE/lib.sh"

CONFIG=$REGISTRY_STATE/config.yml
PIDFILE=$REGISTRY_STATE/registry.pid
LOGFILE=$REGISTRY_STATE/registry.log
STORAGE=$REGISTRY_STATE/storage
SERVER_CERT=$CA_DIR/server.crt
SERVER_KEY=$CA_DIR/server.key
NAME=docker-registry # the daemon's /proc/PID/comm
RUN_AS=docker-registry

usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}
[[ $# -eq 1 ]] || usage
ACTION=$1
case $ACTION in start | stop | status) ;; -h | --help) usage ;; *) usage ;; esac

if [[ $ACTION == start ]]; then
  need_root_debian "it runs the registry as user docker-registry and writes /etc/containers/certs.d"
elif [[ $(id -u) -ne 0 ]]; then
  die "must run as root (the registry runs as user docker-registry); try: sudo bash $0 $ACTION"
fi

# One registry.sh at a time (images.sh calls `start`, stop.sh calls `stop`).
exec 8>/run/hpcjob-registry.lock
flock -w 120 8 || die "another registry.sh holds /run/hpcjob-registry.lock"

answers() {
  curl -sS -f -o /dev/null --max-time 5 --cacert "$CA_CERT" "https://$REGISTRY/v2/" 2>/dev/null
}

stop_registry() {
  local pid
  if ! pid_alive "$PIDFILE" "$NAME"; then
    rm -f "$PIDFILE"
    return 1
  fi
  pid=$(tr -dc '0-9' <"$PIDFILE")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    if ! running "$pid"; then
      rm -f "$PIDFILE"
      return 0
    fi
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case $ACTION in
  stop)
    if stop_registry; then
      echo "$ME: stopped the registry on $REGISTRY"
    else
      echo "$ME: registry not running"
    fi
    exit 0
    ;;
  status)
    if pid_alive "$PIDFILE" "$NAME" && answers; then
      echo "$ME: registry on https://$REGISTRY is up (pid $(cat "$PIDFILE"))"
      exit 0
    fi
    echo "$ME: registry on https://$REGISTRY is not up"
    exit 1
    ;;
esac

# ------------------------------------------------------------------ start
need_cmds docker-registry openssl curl setpriv setsid ss
id "$RUN_AS" >/dev/null 2>&1 || die "user $RUN_AS missing (the docker-registry package makes it); run: sudo bash test/cluster/install.sh"

mkdir -p "$IMAGES_DIR" "$CA_DIR" "$REGISTRY_STATE" "$STORAGE"
chmod 755 "$IMAGES_DIR" "$CA_DIR" "$REGISTRY_STATE"
chown "$RUN_AS:$RUN_AS" "$STORAGE"
chmod 750 "$STORAGE"

RESTART=0

# ---- the test CA (10 years) and the server certificate (2 years), EC P-256.
# Remade when missing, within 30 days of expiry, or not matching each other.
SSL_CONF=$(mktemp)
trap 'rm -f "$SSL_CONF" "$SSL_CONF".*' EXIT
cat >"$SSL_CONF" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = hpcjob test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

cert_ok() { # CERT: exists and valid for 30 more days
  [[ -s $1 ]] && openssl x509 -in "$1" -noout -checkend 2592000 >/dev/null 2>&1
}

if ! cert_ok "$CA_CERT" || [[ ! -s $CA_DIR/ca.key ]]; then
  log "making the test CA ($CA_CERT)"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$CA_DIR/ca.key.tmp" -out "$CA_CERT.tmp" -days 3650 \
    -config "$SSL_CONF" -extensions v3_ca 2>/dev/null
  chmod 600 "$CA_DIR/ca.key.tmp"
  chmod 644 "$CA_CERT.tmp"
  mv -f "$CA_DIR/ca.key.tmp" "$CA_DIR/ca.key"
  mv -f "$CA_CERT.tmp" "$CA_CERT"
  rm -f "$SERVER_CERT" # signed by the old CA
fi
if ! cert_ok "$SERVER_CERT" || [[ ! -s $SERVER_KEY ]] ||
  ! openssl verify -CAfile "$CA_CERT" "$SERVER_CERT" >/dev/null 2>&1; then
  log "making the registry's certificate (127.0.0.1, localhost, ::1)"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$SERVER_KEY.tmp" -out "$SSL_CONF.csr" -subj "/CN=127.0.0.1" 2>/dev/null
  openssl x509 -req -in "$SSL_CONF.csr" -CA "$CA_CERT" -CAkey "$CA_DIR/ca.key" \
    -CAcreateserial -CAserial "$SSL_CONF.srl" -days 730 \
    -extfile "$SSL_CONF" -extensions v3_server -out "$SERVER_CERT.tmp" 2>/dev/null
  chown "root:$RUN_AS" "$SERVER_KEY.tmp"
  chmod 640 "$SERVER_KEY.tmp"
  chmod 644 "$SERVER_CERT.tmp"
  mv -f "$SERVER_KEY.tmp" "$SERVER_KEY"
  mv -f "$SERVER_CERT.tmp" "$SERVER_CERT"
  RESTART=1
fi

# write_if_changed FILE MODE CONTENT (file content = CONTENT exactly); 0 if written.
write_if_changed() {
  local file=$1 mode=$2
  if [[ -f $file ]] && cmp -s "$file" <(printf '%s' "$3"); then return 1; fi
  mkdir -p "$(dirname "$file")"
  printf '%s' "$3" >"$file.tmp.$$"
  chmod "$mode" "$file.tmp.$$"
  mv -f "$file.tmp.$$" "$file"
}

# The bundle for NODE_EXTRA_CA_CERTS / REQUESTS_CA_BUNDLE: the system's roots
# (this machine sets both variables to that file) plus the test CA.
SYSTEM_BUNDLE=/etc/ssl/certs/ca-certificates.crt
bundle=$(cat "$CA_CERT")
if [[ -r $SYSTEM_BUNDLE ]]; then bundle="$(cat "$SYSTEM_BUNDLE")
$bundle"; fi
write_if_changed "$CA_BUNDLE" 644 "$bundle
" || true
# containers/image (skopeo, podman, buildah) trusts the CA for this registry
# only; no verify-disabling flags needed.
write_if_changed "$CONTAINERS_CERTS_DIR/ca.crt" 644 "$(cat "$CA_CERT")
" || true
chmod 755 /etc/containers/certs.d "$CONTAINERS_CERTS_DIR"

# ---- config
CONFIG_TEXT="# Written by hpcjob test/cluster/registry.sh -- rewritten when it differs.
version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
  fields:
    service: hpcjob-test-registry
storage:
  filesystem:
    rootdirectory: $STORAGE
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $REGISTRY
  tls:
    certificate: $SERVER_CERT
    key: $SERVER_KEY
  headers:
    X-Content-Type-Options: [nosniff]
"
if write_if_changed "$CONFIG" 644 "$CONFIG_TEXT"; then RESTART=1; fi

# ---- daemon
if ((RESTART)) && pid_alive "$PIDFILE" "$NAME"; then
  log "config or certificate changed: restarting the registry"
  stop_registry || true
fi
if pid_alive "$PIDFILE" "$NAME" && ! answers; then
  sleep 1 # just started by someone else?
  if ! answers; then
    log "registry (pid $(cat "$PIDFILE")) does not answer: restarting it"
    stop_registry || true
  fi
fi
if ! pid_alive "$PIDFILE" "$NAME"; then
  if ss -Htln "sport = :$REGISTRY_PORT" | grep -q .; then
    ss -Htlnp "sport = :$REGISTRY_PORT" >&2 || true
    die "port $REGISTRY_PORT is taken by another program; set HPCJOB_REGISTRY_PORT"
  fi
  log "starting the registry on https://$REGISTRY"
  rm -f "$PIDFILE"
  # setsid/setpriv exec in place, so $! is the registry itself; the lock fds
  # are closed so that the daemon does not hold them.
  (cd / && exec setsid setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --init-groups -- \
    /usr/bin/docker-registry serve "$CONFIG") </dev/null >>"$LOGFILE" 2>&1 7>&- 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$PIDFILE"
  # (Until setsid and setpriv have exec'd, the process is still called bash:
  # wait on the pid, not on pid_alive's name check.)
  for _ in $(seq 100); do
    answers && break
    running "$pid" || break
    sleep 0.1
  done
  if ! answers; then
    tail -n 20 "$LOGFILE" >&2 || true
    die "the registry does not answer on https://$REGISTRY/v2/ (log: $LOGFILE)"
  fi
fi
log "registry up: https://$REGISTRY (CA $CA_CERT)"
