#!/usr/bin/env bash
# Bring up everything the tests need on this machine, what is missing only:
# the Debian packages, the loopback Slurm cluster with its two login nodes
# (sshd), the real test images and the TLS registry that serves them. `npm
# test` runs this first (and .ci/run runs `npm test`), so one command runs
# every test on a fresh Debian machine. Idempotent: about 2 s when all is up;
# about 5 min from nothing (packages and images; see test/cluster/README.md).
#
# Needs root on Debian 12: the tests act as the users alice and bob
# (runuser), and setting up installs packages and starts daemons. Elsewhere it
# says so and exits 2; `npm run test:unit` runs the tests that need none of it.
#
# Usage: sudo bash test/up.sh
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "test/up.sh: $*" >&2
  exit 2
}

os=unknown
like=''
if [[ -r /etc/os-release ]]; then
  os=$(. /etc/os-release && echo "${ID:-unknown}")
  like=$(. /etc/os-release && echo "${ID_LIKE:-}")
fi
if [[ $os != debian && " $like " != *" debian "* ]]; then
  fail "the end-to-end tests need a Debian 12 machine (a Slurm cluster, sshd, a registry and images are set up on it) and this is '$os'; npm run test:unit runs the tests that need none of it"
fi
if [[ $(id -u) -ne 0 ]]; then
  fail "the tests need root (they set up a Slurm cluster and run as the test users alice and bob); run sudo npm test, or npm run test:unit for the tests that need no cluster"
fi

T0=${EPOCHREALTIME/,/.}
step() {
  local t=${EPOCHREALTIME/,/.}
  "$@" >"$log" 2>&1 || {
    echo "test/up.sh: $* failed:" >&2
    tail -n 30 "$log" >&2
    exit 1
  }
  printf '[test/up.sh] %-36s %5.1fs\n' "$*" "$(awk -v a="$t" -v b="${EPOCHREALTIME/,/.}" 'BEGIN{print b-a}')"
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

step bash test/cluster/install.sh         # packages (slurm-wlm, munge, openssh, jupyter, charliecloud, skopeo, ...)
step bash test/binary/install-tools.sh    # debootstrap, for the root without Node that test/binary runs the executable in
step bash test/cluster/start.sh           # munged, slurmctld, slurmd, the login nodes' sshd, users alice and bob
step bash test/cluster/images.sh          # the real images (built once, cached) and the registry serving them
printf '[test/up.sh] %-36s %5.1fs\n' "all up" "$(awk -v a="$T0" -v b="${EPOCHREALTIME/,/.}" 'BEGIN{print b-a}')"
