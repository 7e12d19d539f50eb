#!/bin/bash
#
# Converts docker-archive:/home/alice/app.tar for cluster rt-charliecloud (charliecloud), rendered by hpcjob.
# One file per image content: the digest decides, not the tag. Written under a
# temporary name and renamed; a lock makes a second conversion of the same
# image wait and then reuse the first one's file; nothing partial is left.
set -euo pipefail
# However it ends, nothing partial is left and the log's last line says how it
# ended (hpcjob reads that line when the conversion runs as a Slurm job).
hpcjob_part=
# The image hpcjob sent from the user's computer for this conversion: removed however it ends.
hpcjob_sent=/tmp/hpcjob-image.Ab12Cd34
hpcjob_end() {
  local code=$?
  if [ -n "$hpcjob_part" ]; then rm -rf "$hpcjob_part" "$hpcjob_part.json"; fi
  rm -f "$hpcjob_sent"
  if [ -n "${hpcjob_unpack_dir:-}" ]; then chmod -R u+rwX "$hpcjob_unpack_dir" 2>/dev/null || :; rm -rf "$hpcjob_unpack_dir"; fi
  echo "hpcjob: the program exited with code $code" >&2
}
trap hpcjob_end EXIT
# Stopped (Ctrl-C, scancel, a lost connection): end with the signal's code, not 0, so the exit line tells the truth.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# Converted images are for the group too (shared image folders).
umask 0002

hpcjob_ref=docker-archive:/home/alice/app.tar
hpcjob_digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
hpcjob_force=no
hpcjob_dir="$HOME"/.hpcjob/images
hpcjob_out="$hpcjob_dir"/archive+app+0123456789ab.sqfs
hpcjob_tmp_dir=${TMPDIR:-/tmp}
mkdir -p "$hpcjob_dir" "$hpcjob_tmp_dir"

# The image's root filesystem from its layers, as enroot import builds it
# (hpcjob has the layer list from the archive's manifest): each layer in
# order, its whiteouts first (".wh.NAME" removes NAME of the layers below,
# ".wh..wh..opq" empties its folder of them), then its files, unprivileged:
# owners are not kept, device files under /dev are left out (as enroot does),
# folders made writable so the next layer applies. tar finds each layer's
# compression (none, gzip, zstd...) itself.
hpcjob_archive=/tmp/hpcjob-image.Ab12Cd34
hpcjob_layers=( a1b2/layer.tar blobs/sha256/c3d4 'it'\''s a layer.tar' )
hpcjob_fixperms() {
  chmod -f -R u+rX "$1" || :
  find "$1" -maxdepth 15 -type d ! -perm -u=w -exec chmod -f u+w {} + || :
}
hpcjob_unpack() {
  local root layer=$1/layer n=0 name entry base dir
  mkdir "$1/rootfs"
  # Its real path: a whiteout's folder is compared with it.
  root=$(realpath "$1/rootfs")
  for name in "${hpcjob_layers[@]}"; do
    n=$((n + 1))
    echo "hpcjob: applying layer $n of 3: $name" >&2
    tar -xOf "$hpcjob_archive" -- "$name" >"$layer"
    while IFS= read -r entry; do
      entry=${entry#./}
      base=${entry##*/}
      dir=${entry%"$base"}
      case $base in .wh.*) ;; *) continue ;; esac
      # A whiteout acts inside the root only (never through a link that leaves it).
      case $(realpath -m "$root/$dir") in "$root" | "$root"/*) ;; *) continue ;; esac
      if [ "$base" = .wh..wh..opq ]; then
        if [ -d "$root/$dir" ]; then find "$root/$dir" -mindepth 1 -maxdepth 1 -exec rm -rf {} +; fi
      else
        rm -rf "${root:?}/$dir${base#.wh.}"
      fi
    done < <(tar --quoting-style=literal -tf "$layer")
    tar -xf "$layer" -C "$root" --no-same-owner -p --warning=no-timestamp --delay-directory-restore \
      --anchored --exclude='dev/*' --exclude='./dev/*' --no-anchored --exclude='.wh.*'
    rm -f "$layer"
    hpcjob_fixperms "$root"
  done
  # The runtime's own files from the image's config, replacing what the image has there.
  if [ -L "$root/etc" ]; then rm -f "$root/etc"; fi
  mkdir -p "$root"/ch
  mkdir -p "$root"/data
  mkdir -p "$(dirname "$root"/ch/environment)"
  rm -rf "$root"/ch/environment
  printf '%s' 'GREETING=it'\''s $HOME
PATH=/usr/local/bin:/usr/bin:/bin
' >"$root"/ch/environment
}
# The folder the root is unpacked in, in the scratch folder (removed however the script ends).
hpcjob_unpack_dir=
hpcjob_unpacked() {
  hpcjob_unpack_dir=$(mktemp -d "$hpcjob_tmp_dir/hpcjob-unpack.XXXXXXXX")
  hpcjob_unpack "$hpcjob_unpack_dir"
}
# Charliecloud's SquashFS: ch-convert packs the image folder as it packs one
# ch-image pulled (with the mount points ch-run needs).
export TMPDIR="$hpcjob_tmp_dir"
hpcjob_converter_version() { echo "hpcjob layers, ch-convert $(ch-convert --version 2>&1)"; }
hpcjob_convert() {
  hpcjob_unpacked
  ch-convert -i dir -o squash "$hpcjob_unpack_dir/rootfs" "$1" >&2
}

# The lock: one conversion of this image at a time; a second one waits for it.
exec 9>>"$hpcjob_out.lock"
if ! flock -n 9; then
  echo "hpcjob: waiting for another conversion of this image to finish" >&2
  flock 9
fi

# Up to date: the file is there and its record names this digest.
if [ "$hpcjob_force" != yes ] && [ -f "$hpcjob_out" ] && grep -qF "\"digest\": \"$hpcjob_digest\"" "$hpcjob_out.json" 2>/dev/null; then
  echo "hpcjob: up to date: $hpcjob_out ($hpcjob_digest)" >&2
  exit 0
fi

# Room for the image, before anything is downloaded.
hpcjob_free() { df -P -B1 "$1" | awk 'NR == 2 { print $4 }'; }
hpcjob_need() {
  local dir=$1 bytes=$2 key=$3 free
  free=$(hpcjob_free "$dir")
  if [ "$free" -lt "$bytes" ]; then
    echo "hpcjob: $dir has $((free / 1048576)) MiB free and converting $hpcjob_ref needs about $((bytes / 1048576)) MiB there; free some space or point the profile's $key at a larger folder (group or scratch storage, not a quota'd home)" >&2
    exit 1
  fi
}
hpcjob_need "$hpcjob_tmp_dir" 370370367 container.tmpDir
hpcjob_need "$hpcjob_dir" 185185184 container.imageDir

hpcjob_part="$hpcjob_dir"/.archive+app+0123456789ab.part-"$$".sqfs
echo "hpcjob: converting $hpcjob_ref ($hpcjob_digest) to $hpcjob_out" >&2
hpcjob_convert "$hpcjob_part"

# The record beside the image: where it came from, what made it, when.
hpcjob_json() { printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g'; }
{
  printf '{\n'
  printf '  "ref": "%s",\n' "$(hpcjob_json "$hpcjob_ref")"
  printf '  "digest": "%s",\n' "$hpcjob_digest"
  printf '  "platform": "%s",\n' linux/amd64
  printf '  "converter": "%s",\n' "$(hpcjob_json "$(hpcjob_converter_version 2>&1 | head -n 1)")"
  printf '  "date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '  "size": %s\n' "$(du -sb "$hpcjob_part" | cut -f1)"
  printf '}\n'
} >"$hpcjob_part.json"
mv -f "$hpcjob_part" "$hpcjob_out"
mv -f "$hpcjob_part.json" "$hpcjob_out.json"
echo "hpcjob: converted: $hpcjob_out" >&2
