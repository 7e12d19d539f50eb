#!/usr/bin/env bash
# Real container images and a real registry for the end-to-end tests, built
# offline from Debian's packages, once per machine (cached under a hash of the
# recipe in test/cluster/images/; a changed recipe rebuilds). Idempotent: when
# all is there it only checks, in a second or so.
#
#   images      jupyter (python3 + jupyter-server + marker), nojupyter (python3
#               + the same marker); each as an OCI layout, a docker-archive tar,
#               a .sif (Apptainer), a .sqsh (enroot), and Charliecloud's
#               SquashFS and directory (ch-image pull + ch-convert, as alice)
#   registry    https://127.0.0.1:5443 (registry.sh) serving lab/jupyter:1,
#               lab/nojupyter:1 and lab/moving:1 (= nojupyter; tests may move it)
#   manifest    $HPCJOB_IMAGES_DIR/images.json (and images.env): every path, the
#               registry, the CA, the digests
#
# Usage: sudo bash test/cluster/images.sh [--rebuild] [--verify]
#   --rebuild  build the images again even if the cache has them
#   --verify   then run images-verify.sh (checks everything as alice)
# Env:
#   HPCJOB_IMAGES_DIR     state dir (default /var/cache/hpcjob-test-images)
#   HPCJOB_REGISTRY_PORT  registry port on 127.0.0.1 (default 5443)
#   HPCJOB_DEBIAN_MIRROR  Debian mirror (default: the one apt uses here)
#   HPCJOB_IMAGES_USER    the user that pulls with ch-image (default alice)
# Needs: install.sh (packages) and start.sh (user alice). See README.md.
set -euo pipefail
ME=images.sh
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/cluster/images-lib.sh
source "$HERE/images-lib.sh"

REBUILD=0
VERIFY=0
for arg in "$@"; do
  case $arg in
    --rebuild) REBUILD=1 ;;
    --verify) VERIFY=1 ;;
    -h | --help)
      sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done

NAMES=(jupyter nojupyter)
MOVING=lab/moving
MOVING_FROM=nojupyter

need_root_debian "it builds root filesystems with debootstrap and chroot, and starts the registry"
need_cmds debootstrap umoci skopeo mksquashfs unsquashfs squashfuse fusermount3 siftool \
  docker-registry ch-image ch-convert ch-run jq curl openssl
id "$IMAGES_USER" >/dev/null 2>&1 ||
  die "user $IMAGES_USER missing (ch-image pulls as that user): run sudo bash test/cluster/start.sh first"

# One images.sh at a time: a cold build takes minutes, so wait long.
exec 7>/run/hpcjob-images.lock
if ! flock -n 7; then
  log "another images.sh is running: waiting for it (up to 15 min)"
  flock -w 900 7 || die "another images.sh still holds /run/hpcjob-images.lock"
fi

# The Debian mirror: HPCJOB_DEBIAN_MIRROR, else the one apt uses here (deb822
# .sources or one-line .list), else deb.debian.org (as test/binary does).
debian_mirror() {
  if [[ -n ${HPCJOB_DEBIAN_MIRROR:-} ]]; then
    echo "$HPCJOB_DEBIAN_MIRROR"
    return
  fi
  local uris f
  uris=$(
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -f $f ]] || continue
      awk 'BEGIN { RS = ""; IGNORECASE = 1 }
        /(^|\n)Enabled:[ \t]*no/ { next }
        !/(^|\n)Types:[^\n]*\<deb\>/ { next }
        { if (match($0, /(^|\n)URIs:[ \t]*[^\n]+/)) { s = substr($0, RSTART, RLENGTH); sub(/^\n?URIs:[ \t]*/, "", s); print s } }' "$f" | tr ' \t' '\n\n'
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -f $f ]] || continue
      sed -n 's/^[[:space:]]*deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]\{1,\}\).*/\2/p' "$f"
    done
  )
  grep -m1 -E '^https?://.*/debian/?$' <<<"$uris" || echo http://deb.debian.org/debian
}

# The cache key: a hash of the recipe (every file in test/cluster/images/,
# with its path; not Python's bytecode caches).
RECIPE=$(cd "$HERE/images" && find . -type f ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z |
  xargs -0 sha256sum | sha256sum | cut -c1-16)
BUILDS=$IMAGES_DIR/builds
BUILD=$BUILDS/$RECIPE

# ------------------------------------------------------------------ registry
bash "$HERE/registry.sh" start

push() { # NAME: the docker-archive to lab/NAME:1 (what `docker push` does)
  skopeo copy -q --retry-times 2 "docker-archive:$1/$2.tar" "docker://$REGISTRY/lab/$2:1"
}
# moving_reset: lab/moving:1 names the nojupyter image again (tests move it).
moving_reset() {
  local want have
  want=$(registry_digest "lab/$MOVING_FROM" 1) || die "lab/$MOVING_FROM:1 is not in the registry"
  have=$(registry_digest "$MOVING" 1 || true)
  if [[ $have != "$want" ]]; then
    log "pointing $MOVING:1 at lab/$MOVING_FROM:1${have:+ (it named $have)}"
    skopeo copy -q "docker://$REGISTRY/lab/$MOVING_FROM:1" "docker://$REGISTRY/$MOVING:1"
    [[ $(registry_digest "$MOVING" 1) == "$want" ]] || die "$MOVING:1 does not have the digest of lab/$MOVING_FROM:1 after the copy"
  fi
}

# build_ok: the build for this recipe is complete and nothing was deleted from it.
build_ok() {
  local name f
  [[ -f $BUILD/.complete && -f $BUILD/oci/index.json ]] || return 1
  for name in "${NAMES[@]}"; do
    for f in "$name.tar" "$name.config.json" "$name.sif" "$name.sqsh" "$name.ch.sqfs"; do
      [[ -s $BUILD/$f ]] || return 1
    done
    [[ -x $BUILD/$name.ch/bin/sh ]] || return 1
  done
}

# ------------------------------------------------------------------ build
if ((REBUILD)) || ! build_ok; then
  mkdir -p "$BUILDS"
  chmod 755 "$IMAGES_DIR" "$BUILDS"
  # Left by an interrupted build (we hold the lock, so none is running).
  rm -rf "$BUILDS"/.tmp-*
  TMP=$BUILDS/.tmp-$RECIPE-$$
  mkdir -p "$TMP"
  trap 'echo "$ME: FAILED; the partial build stays in $TMP for a look (the next run removes it)" >&2' EXIT
  MIRROR=$(debian_mirror)
  B0=$SECONDS
  log "building the images (recipe $RECIPE, mirror $MIRROR) in $TMP: about 3 minutes"
  bash "$HERE/images/build.sh" "$TMP" "$MIRROR" "$RECIPE" "$REGISTRY"
  B1=$SECONDS

  # A registry with only this recipe's images (the old blobs would stay
  # forever otherwise: the registry frees space only by garbage-collecting).
  log "emptying the registry's storage"
  bash "$HERE/registry.sh" stop >/dev/null
  rm -rf "${REGISTRY_STATE:?}/storage"
  bash "$HERE/registry.sh" start >/dev/null
  for name in "${NAMES[@]}"; do
    log "pushing $REGISTRY/lab/$name:1"
    push "$TMP" "$name"
  done
  moving_reset

  log "Charliecloud: ch-image pull + ch-convert as $IMAGES_USER"
  chdir=$TMP/ch
  mkdir -p "$chdir"
  chown "$IMAGES_USER:" "$chdir"
  chmod 755 "$TMP"
  home=$(getent passwd "$IMAGES_USER" | cut -d: -f6)
  # (a copy the user can read: the checkout may not be readable by alice)
  install -m 644 "$HERE/images/charliecloud.sh" "$chdir/.charliecloud.sh"
  runuser -u "$IMAGES_USER" -- env -i PATH=/usr/bin:/bin HOME="$home" USER="$IMAGES_USER" \
    LOGNAME="$IMAGES_USER" LANG=C.UTF-8 REQUESTS_CA_BUNDLE="$CA_BUNDLE" \
    bash "$chdir/.charliecloud.sh" "$chdir" "$REGISTRY" "${NAMES[@]}" </dev/null
  rm -f "$chdir/.charliecloud.sh"
  for name in "${NAMES[@]}"; do
    mv "$chdir/$name.ch.sqfs" "$chdir/$name.ch" "$TMP/"
  done
  rmdir "$chdir"
  # Shared, read-only files, as images on a cluster are.
  chown -R root:root "$TMP"
  chmod 755 "$TMP"
  find "$TMP" -maxdepth 1 -type f ! -name '*.sif' -exec chmod 644 {} +
  chmod 755 "$TMP"/*.sif
  chmod -R a+rX,go-w "$TMP/oci"
  B2=$SECONDS

  {
    echo "recipe=$RECIPE"
    echo "built=$(date -u +%FT%TZ)"
    echo "mirror=$MIRROR"
    echo "seconds_build=$((B1 - B0)) seconds_push_charliecloud=$((B2 - B1))"
    dpkg-query -W umoci skopeo squashfs-tools siftool charliecloud-builders docker-registry | tr '\t' '='
  } >"$TMP/.complete"
  chmod 644 "$TMP/.complete"
  if [[ -e $BUILD ]]; then mv "$BUILD" "$BUILDS/.tmp-old-$$"; fi
  mv "$TMP" "$BUILD"
  trap - EXIT
  ln -sfn "builds/$RECIPE" "$IMAGES_DIR/current.tmp"
  mv -T "$IMAGES_DIR/current.tmp" "$IMAGES_DIR/current"
  # Older recipes' builds (their tags in the registry now name this one's).
  find "$BUILDS" -mindepth 1 -maxdepth 1 ! -name "$RECIPE" -exec rm -rf {} +
  log "built in $((B2 - B0)) s: $BUILD"
else
  # Cached: make sure the registry still has the images (its storage may
  # have been wiped) and that lab/moving:1 is back at its start.
  for name in "${NAMES[@]}"; do
    if ! registry_digest "lab/$name" 1 >/dev/null; then
      log "the registry lacks lab/$name:1: pushing it"
      push "$BUILD" "$name"
    fi
  done
  moving_reset
  if [[ $(readlink "$IMAGES_DIR/current" 2>/dev/null) != "builds/$RECIPE" ]]; then
    ln -sfn "builds/$RECIPE" "$IMAGES_DIR/current.tmp"
    mv -T "$IMAGES_DIR/current.tmp" "$IMAGES_DIR/current"
  fi
fi

# ------------------------------------------------------------------ /dev/fuse
# ch-run mounts a SquashFS image with FUSE inside its user namespace, which
# needs /dev/fuse open-able by the user. Without udev (this machine) it is
# 0600; udev's rule (50-udev-default.rules) makes it 0666 on a normal Debian.
if [[ -c /dev/fuse && $(stat -c %a /dev/fuse) != 666 ]]; then
  log "chmod 666 /dev/fuse (what udev does; ch-run needs it for SquashFS images)"
  chmod 666 /dev/fuse
fi

# ------------------------------------------------------------------ manifest
sif_offset() { # SIF: where its SquashFS partition starts
  siftool list "$1" | awk -F'|' '/FS \(Squashfs/ { split($4, a, "-"); gsub(/ /, "", a[1]); print a[1]; exit }'
}
image_json() { # NAME
  local name=$1 digest offset media repotag
  digest=$(registry_digest "lab/$name" 1) || die "lab/$name:1 is not in the registry"
  media=$(registry_media_type "lab/$name" 1)
  # skopeo writes the tag normalized: docker.io/lab/NAME:1 (docker save: lab/NAME:1)
  repotag=$(tar -xOf "$BUILD/$name.tar" manifest.json | jq -r '.[0].RepoTags[0]')
  offset=$(sif_offset "$BUILD/$name.sif")
  [[ $offset =~ ^[0-9]+$ ]] || die "no SquashFS partition in $BUILD/$name.sif"
  jq -n --arg name "$name" --arg b "$BUILD" --arg reg "$REGISTRY" --arg digest "$digest" \
    --arg media "$media" --arg repotag "$repotag" --argjson offset "$offset" --slurpfile config "$BUILD/$name.config.json" '{
      name: $name,
      hasJupyter: ($name == "jupyter"),
      ref: "\($reg)/lab/\($name):1",
      repository: "lab/\($name)",
      tag: "1",
      digest: $digest,
      mediaType: $media,
      env: $config[0].config.Env,
      cmd: $config[0].config.Cmd,
      labels: $config[0].config.Labels,
      config: "\($b)/\($name).config.json",
      oci: { layout: "\($b)/oci", tag: $name, ref: "oci:\($b)/oci:\($name)" },
      dockerArchive: "\($b)/\($name).tar",
      dockerArchiveTag: $repotag,
      sif: "\($b)/\($name).sif",
      sifSquashfsOffset: $offset,
      enrootSqsh: "\($b)/\($name).sqsh",
      charliecloudSqfs: "\($b)/\($name).ch.sqfs",
      charliecloudDir: "\($b)/\($name).ch"
    }'
}
# The marker, as the image has it.
marker_text=$(unsquashfs -cat "$BUILD/nojupyter.sqsh" etc/hpcjob-test-image) || die "no marker in $BUILD/nojupyter.sqsh"
json=$(jq -n --arg recipe "$RECIPE" --arg dir "$BUILD" --arg reg "$REGISTRY" \
  --arg ca "$CA_CERT" --arg bundle "$CA_BUNDLE" --arg certsd "$CONTAINERS_CERTS_DIR" \
  --arg marker "$marker_text" --arg moving "$MOVING" --arg movingFrom "$MOVING_FROM" \
  --arg movingDigest "$(registry_digest "$MOVING" 1)" \
  --argjson jupyter "$(image_json jupyter)" --argjson nojupyter "$(image_json nojupyter)" '{
    version: 1,
    recipe: $recipe,
    dir: $dir,
    registry: {
      host: $reg,
      url: "https://\($reg)",
      caCert: $ca,
      caBundle: $bundle,
      containersCertsDir: $certsd
    },
    marker: { file: "/etc/hpcjob-test-image", text: $marker, command: "hpcjob-image-marker",
              commandPath: "/opt/hpcjob/bin/hpcjob-image-marker", envName: "HPCJOB_TEST_IMAGE" },
    images: { jupyter: $jupyter, nojupyter: $nojupyter },
    moving: { ref: "\($reg)/\($moving):1", repository: $moving, tag: "1",
              initially: $movingFrom, digest: $movingDigest }
  }')
env_text=$(jq -r --arg manifest "$MANIFEST_JSON" '
  def q: @sh;
  "# Written by hpcjob test/cluster/images.sh from images.json -- sourceable by sh/bash.",
  "HPCJOB_IMAGES_JSON=\($manifest | q)",
  "HPCJOB_IMAGES_BUILD=\(.dir | q)",
  "HPCJOB_REGISTRY=\(.registry.host | q)",
  "HPCJOB_REGISTRY_CA=\(.registry.caCert | q)",
  "HPCJOB_REGISTRY_CA_BUNDLE=\(.registry.caBundle | q)",
  "HPCJOB_IMAGE_MARKER_FILE=\(.marker.file | q)",
  "HPCJOB_IMAGE_MARKER_TEXT=\(.marker.text | q)",
  "HPCJOB_IMAGE_MOVING_REF=\(.moving.ref | q)",
  (.images[] | (.name | ascii_upcase) as $n |
    "HPCJOB_IMAGE_\($n)_REF=\(.ref | q)",
    "HPCJOB_IMAGE_\($n)_DIGEST=\(.digest | q)",
    "HPCJOB_IMAGE_\($n)_OCI=\(.oci.ref | q)",
    "HPCJOB_IMAGE_\($n)_TAR=\(.dockerArchive | q)",
    "HPCJOB_IMAGE_\($n)_SIF=\(.sif | q)",
    "HPCJOB_IMAGE_\($n)_SIF_OFFSET=\(.sifSquashfsOffset)",
    "HPCJOB_IMAGE_\($n)_SQSH=\(.enrootSqsh | q)",
    "HPCJOB_IMAGE_\($n)_CH_SQFS=\(.charliecloudSqfs | q)",
    "HPCJOB_IMAGE_\($n)_CH_DIR=\(.charliecloudDir | q)")' <<<"$json")

write_if_changed() { # FILE CONTENT
  if [[ -f $1 ]] && cmp -s "$1" <(printf '%s\n' "$2"); then return 0; fi
  printf '%s\n' "$2" >"$1.tmp.$$"
  chmod 644 "$1.tmp.$$"
  mv -f "$1.tmp.$$" "$1"
  log "wrote $1"
}
write_if_changed "$MANIFEST_JSON" "$json"
write_if_changed "$MANIFEST_ENV" "$env_text"

log "images ready: $MANIFEST_JSON"
jq -r '.images[] | "  \(.ref)  \(.digest)"' <<<"$json"

if ((VERIFY)); then
  exec 7>&-
  bash "$HERE/images-verify.sh"
fi
