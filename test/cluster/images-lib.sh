# shellcheck shell=bash
# shellcheck disable=SC2034 # the settings are used by the scripts that source this
# Settings and helpers shared by images.sh, registry.sh and images-verify.sh
# (sourced, not run). Set ME (the script's name for messages) before sourcing.

# Where the images, the registry's storage and the test CA live. Not under
# $HPCJOB_CLUSTER_DIR (/tmp/hpcjob-cluster): /tmp may be cleaned, and the
# images take minutes to build, so they are kept like test/binary's
# /var/cache/hpcjob-bullseye-root.
IMAGES_DIR=${HPCJOB_IMAGES_DIR:-/var/cache/hpcjob-test-images}
REGISTRY_PORT=${HPCJOB_REGISTRY_PORT:-5443}
REGISTRY=127.0.0.1:$REGISTRY_PORT
CA_DIR=$IMAGES_DIR/ca
CA_CERT=$CA_DIR/ca.crt
# System roots + the test CA: for NODE_EXTRA_CA_CERTS and REQUESTS_CA_BUNDLE,
# which each take one file (see README.md).
CA_BUNDLE=$CA_DIR/ca-bundle.crt
REGISTRY_STATE=$IMAGES_DIR/registry
# skopeo, podman and buildah (containers/image) read a registry's CA from here.
CONTAINERS_CERTS_DIR=/etc/containers/certs.d/$REGISTRY
MANIFEST_JSON=$IMAGES_DIR/images.json
MANIFEST_ENV=$IMAGES_DIR/images.env
# The unprivileged user that pulls with ch-image and runs the checks.
IMAGES_USER=${HPCJOB_IMAGES_USER:-alice}

# Debian's tools first: root's PATH here starts with a pyenv python that lacks
# ch-image's lark module.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

T0=${EPOCHREALTIME/,/.}
log() { printf '[%s %5.1fs] %s\n' "$ME" "$(awk -v a="$T0" -v b="${EPOCHREALTIME/,/.}" 'BEGIN{print b-a}')" "$*"; }
die() {
  echo "$ME: ERROR: $*" >&2
  exit 1
}

# need_root_debian WHY: root (WHY says what for) on Debian.
need_root_debian() {
  if [[ $(id -u) -ne 0 ]]; then
    die "must run as root ($1); try: sudo bash $0"
  fi
  local id='' like=''
  if [[ -r /etc/os-release ]]; then
    id=$(. /etc/os-release && echo "${ID:-}")
    like=$(. /etc/os-release && echo "${ID_LIKE:-}")
  fi
  if [[ $id != debian && " $like " != *" debian "* ]]; then
    die "needs Debian (12, bookworm): it installs Debian's packages and builds Debian images; this is '${id:-unknown}'"
  fi
}

# need_cmds CMD...: each command exists, else say to run install.sh.
need_cmds() {
  local c missing=()
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    die "missing: ${missing[*]}; run: sudo bash test/cluster/install.sh"
  fi
}

# registry_head REPO TAG: the headers of HEAD /v2/REPO/manifests/TAG, accepting
# every manifest type (without Accept the registry would convert to schema 1).
registry_head() {
  curl -sS -f -I --max-time 10 --cacert "$CA_CERT" \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    "https://$REGISTRY/v2/$1/manifests/$2" 2>/dev/null | tr -d '\r'
}
# registry_digest REPO TAG: its Docker-Content-Digest; exit 1 when no such tag.
registry_digest() {
  local d
  d=$(registry_head "$1" "$2" | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p')
  [[ $d == sha256:* ]] || return 1
  echo "$d"
}
# registry_media_type REPO TAG: the manifest's Content-Type.
registry_media_type() {
  registry_head "$1" "$2" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p'
}
