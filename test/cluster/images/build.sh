#!/usr/bin/env bash
# The recipe of the test images (run by ../images.sh, which caches the result
# under a hash of this folder: any change here rebuilds). Builds, into the
# empty folder OUT, two images from Debian's packages:
#   nojupyter  Debian bookworm (debootstrap --variant=minbase) + python3 + marker
#   jupyter    nojupyter + jupyter-core + jupyter-server (a second layer)
# and, for each NAME:
#   oci/                 OCI image layout, tag NAME (umoci)
#   NAME.tar             docker-archive, what `docker save` writes (skopeo)
#   NAME.config.json     the image config (skopeo inspect --config)
#   NAME.sif             a SIF as `apptainer build NAME.sif docker-archive:NAME.tar`
#                        makes it: /.singularity.d added, SquashFS (gzip),
#                        deffile + JSON objects + partition (siftool)
#   NAME.sqsh            as `enroot import` makes it: root filesystem +
#                        /etc/{environment,rc,rc.local,fstab} from the image
#                        config, mksquashfs -all-root -comp lzo -noD
#
# Usage: build.sh OUT MIRROR RECIPE REGISTRY   (as root; ~2 min)
#   MIRROR    Debian mirror URL;  RECIPE  the cache key (goes into the marker)
#   REGISTRY  host:port the images will be pushed to (enroot's provenance line)
set -euo pipefail
OUT=$1 MIRROR=$2 RECIPE=$3 REGISTRY=$4
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=bookworm
NPROC=$(nproc)
# siftool's --partarch for this machine (the images are built for it)
case $(dpkg --print-architecture) in
  amd64) SIF_ARCH=2 ;;
  arm64) SIF_ARCH=4 ;;
  ppc64el) SIF_ARCH=6 ;;
  *) echo "build.sh: no SIF architecture for $(dpkg --print-architecture)" >&2; exit 1 ;;
esac
WORK=$OUT/.work

# ---- what goes into the images
BASE_PACKAGES=(python3)
JUPYTER_PACKAGES=(jupyter-core jupyter-server) # jupyter-core: the `jupyter` command
MARKER_FILE=/etc/hpcjob-test-image
MARKER_TEXT="hpcjob test image, recipe $RECIPE"
IMAGE_BIN=/opt/hpcjob/bin # only in the image, first on the image's PATH
image_env() { # NAME
  printf '%s\n' \
    "PATH=$IMAGE_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "LANG=C.UTF-8" \
    "HPCJOB_TEST_IMAGE=$1" \
    "HPCJOB_TEST_IMAGE_NOTE=set by the image's ENV"
}
image_packages() { # NAME
  if [[ $1 == jupyter ]]; then echo "${BASE_PACKAGES[*]} ${JUPYTER_PACKAGES[*]}"; else echo "${BASE_PACKAGES[*]}"; fi
}
image_cmd() { # NAME
  if [[ $1 == jupyter ]]; then printf '%s\n' jupyter server; else printf '%s\n' python3; fi
}

step() { printf '[build.sh %s] %s\n' "$(date +%T)" "$*"; }

mkdir -p "$WORK"

# ---- chroot helpers: apt in the image's root filesystem, no daemons started
in_root() { # ROOTFS CMD...
  local root=$1
  shift
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
apt_install() { # ROOTFS PACKAGE...
  local root=$1
  shift
  printf '#!/bin/sh\n# no daemons while building an image\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  # Hosts' resolver, only while apt runs (the image ships an empty one).
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # The devices apt and maintainer scripts use (trim empties /dev again, as
  # images have it): without /dev/null apt-key fails and apt says "gpgv,
  # gpgv2 or gpgv1 required for verification".
  mknod_dev "$root"
  in_root "$root" apt-get update -qq
  # (Use-Pty=0: no "Can not write log (Is /dev/pts mounted?)")
  in_root "$root" apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "$@" >/dev/null
  in_root "$root" apt-get clean
  rm -f "$root/usr/sbin/policy-rc.d"
}
mknod_dev() { # ROOTFS
  local d=$1/dev
  mkdir -p "$d"
  [[ -c $d/null ]] || mknod -m 666 "$d/null" c 1 3
  [[ -c $d/zero ]] || mknod -m 666 "$d/zero" c 1 5
  [[ -c $d/full ]] || mknod -m 666 "$d/full" c 1 7
  [[ -c $d/random ]] || mknod -m 666 "$d/random" c 1 8
  [[ -c $d/urandom ]] || mknod -m 666 "$d/urandom" c 1 9
  [[ -c $d/tty ]] || mknod -m 666 "$d/tty" c 5 0
}
trim() { # ROOTFS: what Debian's slim images leave out, and apt's leftovers
  local root=$1
  rm -rf "${root:?}"/usr/share/doc/* "${root:?}"/usr/share/man/* "${root:?}"/usr/share/info/* \
    "${root:?}"/usr/share/locale/* "${root:?}"/usr/share/lintian/* \
    "${root:?}"/var/lib/apt/lists/* "${root:?}"/var/cache/apt/*.bin "${root:?}"/var/log/* \
    "${root:?}"/var/cache/debconf/*-old "${root:?}"/var/lib/dpkg/*-old \
    "${root:?}"/dev/* "${root:?}"/etc/hostname "${root:?}"/etc/machine-id "${root:?}"/tmp/* "${root:?}"/var/tmp/*
  : >"$root/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
}

# ---- layer 1: debootstrap + python3 + marker  ->  oci:nojupyter
step "OCI layout and an empty image to unpack (umoci)"
umoci init --layout "$OUT/oci"
umoci new --image "$OUT/oci:empty"
umoci unpack --image "$OUT/oci:empty" "$WORK/bundle" >/dev/null
ROOT=$WORK/bundle/rootfs

step "debootstrap --variant=minbase $SUITE ($MIRROR)"
if ! debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 30 "$WORK/debootstrap.log" >&2
  echo "build.sh: debootstrap failed (log above; mirror $MIRROR, set HPCJOB_DEBIAN_MIRROR to change it)" >&2
  exit 1
fi
# Like Debian's slim images: no docs, manuals or translations from now on.
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/hpcjob-nodoc" <<'EOF'
# hpcjob test image: no documentation, manuals or translations
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
EOF

step "apt-get install ${BASE_PACKAGES[*]}"
apt_install "$ROOT" "${BASE_PACKAGES[@]}"
printf '%s\n' "$MARKER_TEXT" >"$ROOT$MARKER_FILE"
mkdir -p "$ROOT$IMAGE_BIN"
cat >"$ROOT$IMAGE_BIN/hpcjob-image-marker" <<EOF
#!/bin/sh
# Prints the marker of hpcjob's test images: found by name only when the
# image's ENV (PATH) applies, and its file exists only inside the image.
exec cat $MARKER_FILE
EOF
chmod 755 "$ROOT$IMAGE_BIN/hpcjob-image-marker"
chmod 644 "$ROOT$MARKER_FILE"
trim "$ROOT"

step "umoci repack -> nojupyter (layer 1, $(du -sm "$ROOT" | cut -f1) MB)"
umoci repack --refresh-bundle --image "$OUT/oci:nojupyter" \
  --history.created_by "debootstrap --variant=minbase $SUITE; apt-get install --no-install-recommends ${BASE_PACKAGES[*]}; marker $MARKER_FILE, $IMAGE_BIN/hpcjob-image-marker" \
  "$WORK/bundle"

# ---- layer 2: jupyter  ->  oci:jupyter (on top of layer 1)
step "apt-get install ${JUPYTER_PACKAGES[*]}"
apt_install "$ROOT" "${JUPYTER_PACKAGES[@]}"
trim "$ROOT"
step "umoci repack -> jupyter (layer 2, rootfs now $(du -sm "$ROOT" | cut -f1) MB)"
umoci repack --refresh-bundle --image "$OUT/oci:jupyter" \
  --history.created_by "apt-get install --no-install-recommends ${JUPYTER_PACKAGES[*]}" \
  "$WORK/bundle"
rm -rf "$WORK/bundle"

# ---- the image configs (ENV, CMD, labels)
for name in nojupyter jupyter; do
  args=(--clear=config.env --clear=config.cmd --clear=config.labels)
  while IFS= read -r e; do args+=(--config.env "$e"); done < <(image_env "$name")
  while IFS= read -r c; do args+=(--config.cmd "$c"); done < <(image_cmd "$name")
  args+=(--config.label "org.opencontainers.image.title=hpcjob-test-$name"
    --config.label "org.opencontainers.image.description=hpcjob test image: Debian $SUITE minbase, $(image_packages "$name")"
    --config.label "org.hpcjob.test.recipe=$RECIPE"
    --author "hpcjob test/cluster/images/build.sh"
    --history.created_by "ENV, CMD, LABEL (umoci config)")
  umoci config --image "$OUT/oci:$name" "${args[@]}"
done
umoci rm --image "$OUT/oci:empty"
umoci gc --layout "$OUT/oci"

# ---- docker-archive (what `docker save` writes) and the image config
for name in nojupyter jupyter; do
  step "docker-archive $name.tar (skopeo)"
  skopeo copy -q "oci:$OUT/oci:$name" "docker-archive:$OUT/$name.tar:lab/$name:1"
  skopeo inspect --config "oci:$OUT/oci:$name" >"$OUT/$name.config.json"
done

# ---- enroot's .sqsh and Apptainer's .sif, from the unpacked layers
for name in nojupyter jupyter; do
  config=$OUT/$name.config.json
  step "$name: umoci unpack (layers, whiteouts)"
  umoci unpack --image "$OUT/oci:$name" "$WORK/u" >/dev/null

  # -- enroot: src/docker.sh docker::import / docker::configure (enroot 4.1)
  step "$name.sqsh: enroot import's root filesystem + /etc/{environment,rc,rc.local,fstab}"
  E=$WORK/enroot
  cp -a "$WORK/u/rootfs" "$E"
  rm -rf "${E:?}"/dev/* # tar --exclude='dev/*'
  # common::fixperms
  chmod -f -R u+rX "$E" || :
  find "$E" -maxdepth 15 -type d ! -perm -u=w -exec chmod -f u+w {} \+ || :
  mkdir -p "$E/etc"
  uri="docker://$REGISTRY#lab/$name:1"
  jq -r '(.config.Volumes)? // empty | keys[] | "${ENROOT_ROOTFS}\(.) \(.) none x-create=dir,bind,rw,nosuid,nodev"' "$config" >"$E/etc/fstab"
  jq -r '(.config.Env[])? // empty' "$config" >"$E/etc/environment"
  printf '# enroot-provenance: %s\n' "$uri" >"$E/etc/rc"
  jq -r '(.config.Labels)? // empty | to_entries[] | "# \(.key) \(.value | gsub("\n"; " "))"' "$config" >>"$E/etc/rc"
  [[ -s $E/etc/rc ]] && echo >>"$E/etc/rc"
  workdir=$(jq -r '(.config.WorkingDir)? // empty' "$config")
  readarray -t entrypoint < <(jq -r '(.config.Entrypoint[])? // empty' "$config")
  readarray -t cmd < <(jq -r '(.config.Cmd[])? // empty' "$config")
  if [[ ${#entrypoint[@]} -eq 0 && ${#cmd[@]} -eq 0 ]]; then cmd=(/bin/sh); fi
  mkdir -p "$E${workdir:-/}"
  # shellcheck disable=SC2016 # "\$@" and "\$#" are for /etc/rc, as in enroot
  cat >>"$E/etc/rc" <<-EOF
	mkdir -p "${workdir:-/}" 2> /dev/null
	cd "${workdir:-/}" && unset OLDPWD || exit 1
	
	if [ -s /etc/rc.local ]; then
	    . /etc/rc.local
	fi
	
	if [ \$# -gt 0 ]; then
	    exec ${entrypoint[@]+${entrypoint[@]@Q}} "\$@"
	else
	    exec ${entrypoint[@]+${entrypoint[@]@Q}} ${cmd[@]+${cmd[@]@Q}}
	fi
	EOF
  cat >"$E/etc/rc.local" <<-EOF
	# This file is sourced by /etc/rc when the container starts.
	# It can be used to manipulate the entrypoint or the command of the container.
	EOF
  # ENROOT_SQUASH_OPTIONS' default: -comp lzo -noD -exit-on-error
  mksquashfs "$E" "$OUT/$name.sqsh" -all-root -no-progress -quiet -processors "$NPROC" \
    -comp lzo -noD -exit-on-error >/dev/null
  rm -rf "$E"

  # -- Apptainer: build from docker-archive, SIF assembler
  step "$name.sif: /.singularity.d, SquashFS (gzip), SIF (siftool)"
  S=$WORK/u/rootfs
  # (as `apptainer build NAME.sif docker-archive:NAME.tar` run next to the tar)
  /usr/bin/python3 "$HERE/apptainer-meta.py" "$S" "$config" docker-archive "$name.tar" "$WORK/sif"
  mksquashfs "$S" "$WORK/squashfs-$name" -noappend -comp gzip -no-progress -quiet -processors "$NPROC" >/dev/null
  siftool new "$WORK/$name.sif"
  # siftool leaves the 32-byte launch script empty; Apptainer writes this one
  # (so that an executable .sif runs itself through run-singularity).
  printf '#!/usr/bin/env run-singularity\n' | dd of="$WORK/$name.sif" conv=notrunc status=none
  siftool add "$WORK/$name.sif" "$WORK/sif/deffile" --datatype 1 --groupid 1 --filename .
  siftool add "$WORK/$name.sif" "$WORK/sif/inspect-metadata.json" --datatype 6 --groupid 1
  siftool add "$WORK/$name.sif" "$WORK/sif/oci-config.json" --datatype 6 --groupid 1
  siftool add "$WORK/$name.sif" "$WORK/squashfs-$name" --datatype 4 --groupid 1 \
    --parttype 2 --partfs 1 --partarch "$SIF_ARCH"
  chmod 755 "$WORK/$name.sif" # as apptainer build leaves it
  mv "$WORK/$name.sif" "$OUT/$name.sif"
  rm -rf "$WORK/u" "$WORK/sif" "$WORK/squashfs-$name"
done

rm -rf "$WORK"
step "done"
