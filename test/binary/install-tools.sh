#!/usr/bin/env bash
# Tools for test/binary (the single executable run in a Debian bullseye root
# without Node.js): debootstrap, which makes that root. Run as root on Debian
# or Ubuntu; needs the distribution's package mirror.
set -euo pipefail
if command -v debootstrap >/dev/null; then
  echo "install-tools: debootstrap is already installed"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "install-tools: run as root (apt-get install debootstrap)" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends debootstrap debian-archive-keyring
