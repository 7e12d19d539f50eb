#!/usr/bin/env bash
# Charliecloud images of the test images, as Charliecloud users make them:
# `ch-image pull` from the test registry (over TLS, trusting the test CA
# through REQUESTS_CA_BUNDLE), then `ch-convert` to a SquashFS (NAME.ch.sqfs)
# and to a directory (NAME.ch/). Run by ../images.sh as the unprivileged test
# user (not root).
#
# Usage: charliecloud.sh OUT REGISTRY NAME...
#   OUT  a folder this user can write; the ch-image storage goes in OUT/.ch-storage
# Env: REQUESTS_CA_BUNDLE (a bundle with the test CA), USER (ch-image needs it)
#
# ch-convert 0.31 has no --storage option: it finds ch-image's storage through
# CH_IMAGE_STORAGE. --no-cache: ch-image's build cache is a git repository,
# and `git commit` fails (code 128) for a user without a git identity.
set -euo pipefail
OUT=$1 REGISTRY=$2
shift 2
: "${USER:?ch-image needs USER}"
: "${REQUESTS_CA_BUNDLE:?set REQUESTS_CA_BUNDLE to a CA bundle with the test CA}"
export CH_IMAGE_STORAGE=$OUT/.ch-storage
for name in "$@"; do
  ref=$REGISTRY/lab/$name:1
  printf '[charliecloud.sh %s] ch-image pull %s\n' "$(date +%T)" "$ref"
  ch-image --no-cache pull "$ref" </dev/null >"$OUT/$name.pull.log" 2>&1 || {
    tail -n 30 "$OUT/$name.pull.log" >&2
    exit 1
  }
  printf '[charliecloud.sh %s] ch-convert -> %s.ch.sqfs, %s.ch/\n' "$(date +%T)" "$name" "$name"
  ch-convert -i ch-image -o squash "$ref" "$OUT/$name.ch.sqfs" </dev/null >"$OUT/$name.convert.log" 2>&1 || {
    tail -n 30 "$OUT/$name.convert.log" >&2
    exit 1
  }
  ch-convert -i ch-image -o dir "$ref" "$OUT/$name.ch" </dev/null >>"$OUT/$name.convert.log" 2>&1 || {
    tail -n 30 "$OUT/$name.convert.log" >&2
    exit 1
  }
  rm -f "$OUT/$name.pull.log" "$OUT/$name.convert.log"
done
rm -rf "$CH_IMAGE_STORAGE"
