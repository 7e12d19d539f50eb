# shellcheck shell=bash
# Shared by the stand-ins in test/standins (sourced). They run the payload in
# the real image with Charliecloud's ch-run (unprivileged, user namespaces);
# see README.md next to this folder for what each stand-in copies and from where.
#
# What lives here:
#   standin_die MSG...             a stand-in's own failure (not a copied message), exit 125
#   standin_sif_partition FILE     the offset of a SIF's system partition (siftool list)
#   standin_image_kind FILE        sif | squashfs | dir | none | other
#   standin_cached_rootfs FILE OFF a per-user, cached extraction of the SquashFS at OFF in FILE
#   standin_unsquash FILE OFF DIR  unsquashfs into DIR (not cached; enroot create)
#   standin_mkpoint ROOT DST KIND  create a bind destination inside ROOT (symlinks resolved inside ROOT)
#   standin_passwd ROOT HOME SHELL a passwd/group pair with the user's entry, as the real tools add
#   standin_chrun_exec ...         exec ch-run with exactly the environment given
#   standin_docker_daemon          whether a Docker daemon answers (else podman plays it)

# shellcheck disable=SC2034 # used by the scripts that source this file
STANDIN_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# Where the in-container helpers (apptainer-action, capture, slurm-exec) are
# bind-mounted inside every container the stand-ins start.
STANDIN_GUEST_LIB=/.hpcjob-standin
# Apptainer's DefaultPath (internal/pkg/util/env/env.go).
# shellcheck disable=SC2034
STANDIN_DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

standin_die() {
  printf 'hpcjob stand-in %s: %s\n' "${0##*/}" "$*" >&2
  exit 125
}

standin_need() {
  local c
  for c; do
    command -v "$c" >/dev/null 2>&1 ||
      standin_die "needs $c on PATH (sudo bash test/cluster/install.sh installs charliecloud-runtime, squashfs-tools, siftool)"
  done
}

# ch-run refuses to start without $USER (ch-run.c); sessions from runuser or
# cron may lack it.
standin_user() {
  if [ -z "${USER:-}" ]; then
    USER=$(id -un)
  fi
  printf '%s' "$USER"
}

# The cache of extracted images: one folder per user (never shared: the files
# belong to whoever extracted them). HPCJOB_STANDIN_CACHE overrides it.
standin_cache_base() {
  local base=${HPCJOB_STANDIN_CACHE:-${TMPDIR:-/tmp}/hpcjob-standin-$(id -u)}
  if [ ! -d "$base" ]; then
    mkdir -p "$base" && chmod 700 "$base" || standin_die "cannot create the image cache $base"
  fi
  [ -O "$base" ] || standin_die "the image cache $base is not yours"
  printf '%s' "$base"
}

# standin_image_kind FILE: what a real runtime would find there.
standin_image_kind() {
  local f=$1 magic
  if [ -d "$f" ]; then
    echo dir
  elif [ ! -e "$f" ]; then
    echo none
  elif [ "$(head -c 4 -- "$f" 2>/dev/null)" = hsqs ]; then
    echo squashfs
  else
    # A SIF global header: a 32-byte launch script, then "SIF_MAGIC\0" (sif.go, hdrMagic).
    magic=$(dd if="$f" bs=1 skip=32 count=9 status=none 2>/dev/null)
    if [ "$magic" = SIF_MAGIC ]; then echo sif; else echo other; fi
  fi
}

# standin_sif_partition FILE: the start of the SIF's primary system partition
# (the root filesystem), as Apptainer's image driver finds it: the descriptor
# of data type FS with partition type *System. Prints the offset, or fails.
standin_sif_partition() {
  standin_need siftool
  siftool list "$1" 2>/dev/null | awk -F'|' '
    $5 ~ /^FS \(Squashfs\/\*System\// { split($4, r, "-"); gsub(/ /, "", r[1]); print r[1]; found = 1; exit }
    END { exit !found }'
}

# standin_unsquash FILE OFFSET DIR [EXTRA_OPTION...]: extract, as the user,
# the SquashFS at OFFSET of FILE into DIR (which must not exist).
standin_unsquash() {
  local file=$1 offset=$2 dir=$3
  shift 3
  standin_need unsquashfs
  unsquashfs -n -o "$offset" "$@" -d "$dir" "$file"
}

# Files and folders ch-run binds over (ch_core.c) or that the real runtimes
# always provide; an image without them could not start under ch-run.
standin_prepare_root() {
  local root=$1 f
  mkdir -p "$root$STANDIN_GUEST_LIB" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/etc"
  for f in /etc/hosts /etc/resolv.conf /etc/passwd /etc/group; do
    [ -e "$root$f" ] || [ -L "$root$f" ] || : >"$root$f"
  done
  # enroot's common::fixperms: the owner can read every file and enter and
  # write every folder, so the extraction can be deleted again.
  chmod -f -R u+rX "$root" || :
  find "$root" -maxdepth 15 -type d ! -perm -u=w -exec chmod -f u+w {} + || :
}

# standin_cached_rootfs FILE OFFSET: a read-only-used extraction of FILE's
# SquashFS, made once per user and image file (path, device, inode, size,
# mtime and offset), built in a temporary folder and renamed into place under
# a lock, so concurrent jobs neither race nor see half an extraction.
# The real tools do not extract on every run (Apptainer mounts the SquashFS
# with squashfuse; pyxis lets enroot unpack it per job step): the cache is the
# stand-in's means to run it with ch-run quickly. Prints the folder.
standin_cached_rootfs() {
  local file=$1 offset=$2 base real id key dir lockfd tmp log
  base=$(standin_cache_base)
  real=$(readlink -f -- "$file")
  id=$(stat -L -c '%d:%i:%s:%y' -- "$real") || standin_die "cannot stat $file"
  key=$(printf '%s\n%s\n%s\n' "$real" "$id" "$offset" | sha256sum | cut -c1-20)
  dir=$base/rootfs-$key
  if [ ! -d "$dir" ]; then
    exec {lockfd}>"$base/rootfs-$key.lock"
    flock "$lockfd"
    if [ ! -d "$dir" ]; then
      tmp=$(mktemp -d "$base/.tmp-$key-XXXXXX") || standin_die "cannot create a folder in $base"
      log=$tmp/unsquashfs.log
      if ! standin_unsquash "$real" "$offset" "$tmp/rootfs" -no-progress -no-xattrs >"$log" 2>&1; then
        cat "$log" >&2
        rm -rf "$tmp"
        standin_die "unsquashfs of $file (offset $offset) failed"
      fi
      standin_prepare_root "$tmp/rootfs"
      printf '%s\n' "$real" >"$base/rootfs-$key.source"
      # What unsquashfs printed (enroot create shows it again).
      mv "$log" "$base/rootfs-$key.log"
      mv "$tmp/rootfs" "$dir"
      rm -rf "$tmp"
      standin_prune "$base" "$key" "$real"
    fi
    exec {lockfd}>&-
  fi
  touch "$base/rootfs-$key.source" 2>/dev/null || :
  printf '%s' "$dir"
}

# Drop extractions not used for a day, and older extractions of the same
# file path (a rebuilt image) not used for an hour: a running container may
# still use one, so nothing recent is deleted.
standin_prune() {
  local base=$1 keep=$2 real=$3 src k
  for src in "$base"/rootfs-*.source; do
    [ -f "$src" ] || continue
    k=${src##*/rootfs-}
    k=${k%.source}
    [ "$k" = "$keep" ] && continue
    if [ -n "$(find "$src" -mmin +1440)" ] ||
      { [ "$(cat "$src")" = "$real" ] && [ -n "$(find "$src" -mmin +60)" ]; }; then
      chmod -R u+w "$base/rootfs-$k" 2>/dev/null
      rm -rf "$base/rootfs-$k" "$src" "$base/rootfs-$k".{lock,log,passwd,group,rc.local}
    fi
  done
}

# standin_mkpoint ROOT DST KIND: make sure DST exists inside ROOT, creating
# the missing folders (KIND dir) or an empty file (KIND file) as the real
# runtimes do for bind destinations (Apptainer's underlay, enroot's
# x-create). Symlinks met on the way are resolved inside ROOT, never on the
# host. Prints the resolved path inside ROOT; fails when it cannot create it.
standin_mkpoint() {
  local root=$1 dst=$2 kind=$3 cur="" rest comp target hops=0
  rest=${dst#/}
  while [ -n "$rest" ]; do
    comp=${rest%%/*}
    if [ "$comp" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
    case $comp in
      "" | .) continue ;;
      ..) cur=${cur%/*}; continue ;;
    esac
    if [ -L "$root$cur/$comp" ]; then
      hops=$((hops + 1))
      [ "$hops" -le 40 ] || return 1
      target=$(readlink -- "$root$cur/$comp")
      if [[ $target == /* ]]; then
        cur=""
        rest=${target#/}${rest:+/$rest}
      else
        rest=$target${rest:+/$rest}
      fi
      continue
    fi
    if [ ! -e "$root$cur/$comp" ]; then
      # Another run may create it at the same moment (a shared extraction).
      if [ -z "$rest" ] && [ "$kind" = file ]; then
        : >>"$root$cur/$comp" 2>/dev/null || return 1
      else
        mkdir "$root$cur/$comp" 2>/dev/null || [ -d "$root$cur/$comp" ] || return 1
      fi
    fi
    cur=$cur/$comp
  done
  printf '%s' "${cur:-/}"
}

# standin_exists_in ROOT PATH: whether PATH exists inside ROOT (symlinks
# resolved inside ROOT).
standin_exists_in() {
  local root=$1 path=$2 cur="" rest comp target hops=0
  rest=${path#/}
  while [ -n "$rest" ]; do
    comp=${rest%%/*}
    if [ "$comp" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
    case $comp in
      "" | .) continue ;;
      ..) cur=${cur%/*}; continue ;;
    esac
    if [ -L "$root$cur/$comp" ]; then
      hops=$((hops + 1))
      [ "$hops" -le 40 ] || return 1
      target=$(readlink -- "$root$cur/$comp")
      if [[ $target == /* ]]; then cur=""; rest=${target#/}${rest:+/$rest}; else rest=$target${rest:+/$rest}; fi
      continue
    fi
    [ -e "$root$cur/$comp" ] || return 1
    cur=$cur/$comp
  done
  return 0
}

# standin_passwd KEYFILE ROOT HOME SHELL: the image's /etc/passwd and
# /etc/group plus the calling user's entries (home HOME, shell SHELL), as
# Apptainer (files.Passwd/Group) and enroot's 10-shadow.sh hook add them;
# written next to KEYFILE (KEYFILE.passwd, KEYFILE.group) when they differ.
standin_passwd() {
  local key=$1 root=$2 home=$3 shell=$4 uid gid user group tmp
  uid=$(id -u)
  gid=$(id -g)
  user=$(id -un)
  group=$(id -gn)
  tmp=$(mktemp "$key.passwd.XXXXXX")
  {
    printf '%s:x:%s:%s:%s:%s:%s\n' "$user" "$uid" "$gid" "$user" "$home" "$shell"
    awk -F: -v u="$user" -v id="$uid" '$1 != u && $3 != id' "$root/etc/passwd" 2>/dev/null
  } >"$tmp"
  if cmp -s "$tmp" "$key.passwd"; then rm -f "$tmp"; else mv -f "$tmp" "$key.passwd"; fi
  tmp=$(mktemp "$key.group.XXXXXX")
  {
    printf '%s:x:%s:%s\n' "$group" "$gid" "$user"
    awk -F: -v g="$group" -v id="$gid" '$1 != g && $3 != id' "$root/etc/group" 2>/dev/null
  } >"$tmp"
  if cmp -s "$tmp" "$key.group"; then rm -f "$tmp"; else mv -f "$tmp" "$key.group"; fi
}

# standin_docker_daemon: whether a Docker daemon can be reached (DOCKER_HOST,
# or the default socket). Without one, the stand-ins' docker-daemon: and
# dockerd:// sources read podman's image store instead (podman plays the
# laptop's Docker in the tests).
standin_docker_daemon() {
  [ -n "${DOCKER_HOST:-}" ] || [ -S /var/run/docker.sock ]
}

# The user's login shell and home from the passwd database.
standin_pw_field() { # FIELD (6 home, 7 shell)
  getent passwd "$(id -u)" | cut -d: -f"$1"
}

# standin_chrun_exec ENV_ARRAY_NAME CHRUN_ARGS_ARRAY_NAME ROOT CMD...: replace
# this process by ch-run running CMD in ROOT with exactly the environment in
# the named array (NAME=VALUE items) plus what ch-run itself needs. ch-run
# runs a directory image in the same process (no fork), so the payload keeps
# this process's pid: a signal to it (scancel, kill) reaches the payload.
standin_chrun_exec() {
  local -n _env=$1 _args=$2
  local root=$3
  shift 3
  standin_need ch-run
  exec env -i "${_env[@]}" "$(command -v ch-run)" "${_args[@]}" "$root" -- "$@"
}
