# shellcheck shell=bash
# `apptainer build OUT.sif SRC` for the apptainer/singularity stand-in
# (sourced after common.sh; the stand-in defines fatal, warning, info and
# flag_error). It copies Apptainer 1.3.4 (github.com/apptainer/apptainer,
# tag v1.3.4) with the real tools Apptainer itself is built from:
#   cmd/internal/cli/build.go, build_linux.go   flags, checkBuildTarget (the
#                         overwrite refusal and prompt), runBuild's order and
#                         messages ("Build complete: OUT")
#   cmd/internal/cli/apptainer.go               --force/-F, --tmpdir (default
#                         os.TempDir(): $TMPDIR, else /tmp), APPTAINER_ env keys
#   internal/pkg/cache/cache.go, pkg/syfs       APPTAINER_CACHEDIR (default
#                         $HOME/.apptainer, or APPTAINER_CONFIGDIR), its cache/
#                         folders (0700), "Cache disabled" warnings,
#                         APPTAINER_DISABLE_CACHE
#   internal/pkg/build/build.go                 build-temp-N (the root
#                         filesystem) and bundle-temp-N in the temporary
#                         folder, the noexec/nodev checks, "Starting build...",
#                         the error wrapping, clean-up on exit and on a signal
#   internal/pkg/build/oci/oci.go               the blob cache: an OCI layout
#                         in CACHEDIR/cache/blob, tagged sha256(digest+arch+variant)
#   internal/pkg/build/sources/conveyorPacker_oci.go, oci_unpack.go
#                         docker://, docker-archive:, docker-daemon:, oci:,
#                         oci-archive: (non-root: a plain tar extraction into
#                         bundle-temp/temp-oci-N), umoci's rootless unpack and
#                         its "unpack layer" lines, --fix-perms
#   internal/pkg/build/assemblers/sif.go        "Creating SIF file...", mksquashfs
#                         -noappend [-all-root] into bundle-temp, then OUT
#                         removed and written in place (not atomic: a kill
#                         while it is written leaves a partial OUT without a
#                         system partition, which no runtime accepts)
# The tools: skopeo (containers/image, the library Apptainer embeds: the
# same transports, /etc/containers/certs.d, registries.conf, the same
# "Copying blob" report and error words), umoci (Apptainer embeds its
# layer code), mksquashfs, siftool (Apptainer's SIF library), and the
# test images' own recipe for /.singularity.d and the SIF's metadata
# (../image-recipe = test/cluster/images: apptainer-meta.py and the files
# it copies from Apptainer). docker-daemon: reads the Docker daemon with
# `docker save` when a Docker daemon listens, else podman's image store
# (`podman save`; the test machines have no Docker daemon).

APPTAINER_VERSION_STANDIN=1.3.4
# The command name (apptainer or singularity), set by the stand-in.
tool=${tool:-apptainer}

# apptainer_build ARG...: the `build` command after the global options.
apptainer_build() {
  local -a pos=()
  local force=0 disable_cache=0 tmpdir_opt="" fix_perms=0 no_https=0 no_cleanup=0 a
  while [ $# -gt 0 ]; do
    a=$1
    case "$a" in
      --) shift; pos+=("$@"); break ;;
      -F | --force) force=1 ;;
      --force=*) ap_bool "${a#*=}" && force=1 ;;
      --disable-cache) disable_cache=1 ;;
      --tmpdir) [ $# -ge 2 ] || flag_error build "flag needs an argument: --tmpdir"; tmpdir_opt=$2; shift ;;
      --tmpdir=*) tmpdir_opt=${a#*=} ;;
      --fix-perms) fix_perms=1 ;;
      -T | --notest) ;;
      --no-https | --nohttps) no_https=1 ;;
      --no-cleanup) no_cleanup=1 ;;
      -s | --sandbox | -u | --update | -f | --fakeroot | -e | --encrypt | --passphrase | --pem-path | --pem-path=* | \
        --section | --section=* | --json | --library | --library=* | --nv | --nvccli | --rocm | -B | --bind | --bind=* | \
        --mount | --mount=* | --writable-tmpfs | --userns | --ignore-subuid | --ignore-fakeroot-command | --ignore-userns | \
        --build-arg | --build-arg=* | --build-arg-file | --build-arg-file=* | --warn-unused-build-args | --docker-host | \
        --docker-host=* | --docker-login | --docker-username | --docker-username=* | --docker-password | --docker-password=* | --remote)
        standin_die "apptainer build ${a%%=*} is not supported by the stand-in (it builds a SIF from docker://, docker-archive:, docker-daemon:, oci: and oci-archive: sources)"
        ;;
      -h | --help)
        printf 'Usage:\n  %s build [local options...] <IMAGE PATH> <BUILD SPEC>\n' "$tool"
        return 0
        ;;
      --*) flag_error build "unknown flag: ${a%%=*}" ;;
      -?*) flag_error build "unknown shorthand flag: '${a:1:1}' in $a" ;;
      *) pos+=("$a") ;;
    esac
    shift
  done
  [ ${#pos[@]} -eq 2 ] || flag_error build "accepts 2 arg(s), received ${#pos[@]}"
  local dest=${pos[0]} spec=${pos[1]}
  ap_bool "$(ap_env FORCE)" && force=1
  ap_bool "$(ap_env DISABLE_CACHE)" && disable_cache=1
  ap_bool "$(ap_env FIXPERMS)" && fix_perms=1
  ap_bool "$(ap_env NOHTTPS)" && no_https=1
  ap_bool "$(ap_env NO_CLEANUP)" && no_cleanup=1
  local tmpdir=$tmpdir_opt
  [ -n "$tmpdir" ] || tmpdir=$(ap_env TMPDIR)
  [ -n "$tmpdir" ] || tmpdir=${TMPDIR:-/tmp}

  # ---- the source (uri.IsValid, MakeAllDefs)
  local bootstrap from
  case "$spec" in
    docker:* | docker-archive:* | docker-daemon:* | oci:* | oci-archive:*) ;;
    library:* | shub:* | oras:* | http:* | https:*)
      standin_die "apptainer build from ${spec%%:*} sources is not supported by the stand-in (no route to the Internet here)"
      ;;
    *)
      if [ -e "$spec" ]; then
        standin_die "apptainer build from a definition file or a local image is not supported by the stand-in (build from docker://, docker-archive:, docker-daemon:, oci: or oci-archive:)"
      fi
      # (reported after the target check and the cache, in Apptainer's order)
      bootstrap=""
      ;;
  esac
  if [ -z "${bootstrap-x}" ]; then
    from=""
  elif [[ $spec == *://* ]]; then
    bootstrap=${spec%%://*} from=${spec#*://}
  else
    bootstrap=${spec%%:*} from=${spec#*:}
  fi
  standin_need skopeo umoci mksquashfs siftool jq
  local recipe
  recipe=$(ap_recipe) || exit 125

  # ---- checkBuildTarget
  local abs
  abs=$(realpath -m -- "$dest")
  if [ -e "$abs" ] && [ "$force" != 1 ]; then
    if [ -d "$abs" ]; then
      if [ -n "$(ls -A "$abs" 2>/dev/null)" ]; then
        local n=0 e
        for e in .singularity.d dev proc sys; do [ -e "$abs/$e" ] && n=$((n + 1)); done
        [ "$n" = 4 ] || fatal "While checking build target: $abs is not empty and is not an Apptainer sandbox, check its content first and use --force if you want to overwrite it"
      fi
    fi
    if [ ! -t 0 ]; then
      fatal "While checking build target: build target '${abs##*/}' already exists. Use --force if you want to overwrite it"
    fi
    local question="Build target '${abs##*/}' already exists and will be deleted during the build process. Do you want to continue? [y/N] "
    case "$(standin_image_kind "$abs")" in sif | squashfs | dir) ;; *)
      question="Build target '${abs##*/}' may be a definition file or a text/binary file that will be overwritten. Do you still want to overwrite it? [y/N] " ;;
    esac
    # interactive.AskYNQuestion: the question on stdout; y/yes, n/no or empty (no).
    local reply=""
    printf '%s' "$question"
    read -r reply || reply=""
    case "${reply,,}" in
      y | yes) ;;
      n | no | "") fatal "While checking build target: stopping build" ;;
      *) fatal "While checking build target: while reading the input: invalid answer: \"$reply\"" ;;
    esac
  fi

  # ---- the image cache (cache.New)
  local cache_root="" parent ep
  if [ "$disable_cache" != 1 ]; then
    parent=$(ap_env CACHEDIR)
    [ -n "$parent" ] || parent=$(ap_config_dir)
    ep=$parent
    while [ ! -e "$ep" ] && [ "$ep" != / ] && [ -n "$ep" ]; do ep=$(dirname -- "$ep"); done
    if [ ! -w "$ep" ]; then
      warning "Cache disabled - cache location $ep is not writable."
      disable_cache=1
    else
      cache_root=$parent/cache
      local t
      for t in "" /library /oci-tmp /shub /oras /net; do
        if [ ! -d "$cache_root$t" ]; then
          (umask 077 && mkdir -p -- "$cache_root$t") 2>/dev/null ||
            fatal "Failed to create an image cache handle: failed initializing caching directory: couldn't create cache directory $cache_root$t: mkdir $cache_root$t: permission denied"
        fi
        chmod 700 -- "$cache_root$t" 2>/dev/null || :
      done
    fi
  fi

  # ---- MakeAllDefs: neither a URI nor a file
  [ -n "$bootstrap" ] || fatal "Unable to build from $spec: unable to open file $spec: open $spec: no such file or directory"

  # ---- build.New: the build folders in the temporary folder
  AP_PARENT="" AP_BUNDLE="" AP_NO_CLEANUP=$no_cleanup
  trap ap_cleanup EXIT
  trap 'ap_cleanup; trap - EXIT; exit 1' INT TERM
  ap_mkdtemp "$tmpdir" build-temp- AP_PARENT || fatal "Unable to create build: failed to create build parent dir: $AP_ERR"
  ap_mkdtemp "$tmpdir" bundle-temp- AP_BUNDLE || fatal "Unable to create build: could not create temp dir in \"$tmpdir\": $AP_ERR"
  local rootfs=$AP_PARENT/rootfs
  mkdir -m 755 "$rootfs" || fatal "Unable to create build: could not create \"$rootfs\": mkdir $rootfs: permission denied"
  local mnt opts o
  mnt=$(findmnt -n -o TARGET -T "$tmpdir" 2>/dev/null) || mnt=""
  opts=$(findmnt -n -o OPTIONS -T "$tmpdir" 2>/dev/null) || opts=""
  IFS=, read -r -a o <<<"$opts"
  for a in "${o[@]}"; do
    case "$a" in
      nodev) warning "'nodev' mount option set on $mnt, it could be a source of failure during build process" ;;
      noexec)
        AP_PARENT="" AP_BUNDLE="" # Apptainer returns before its clean-up is armed: both stay
        fatal "Unable to create build: 'noexec' mount option set on $mnt, temporary root filesystem won't be usable at this location"
        ;;
    esac
  done

  # ---- Full: the conveyor (Get)
  info "Starting build..."
  local -a tls=()
  [ "$no_https" = 1 ] && tls=(--src-tls-verify=false)
  local src srcref err
  case "$bootstrap" in
    docker) srcref="docker://$from" ;;
    docker-archive) srcref="docker-archive:$from" ;;
    oci) srcref="oci:$from" ;;
    docker-daemon)
      # containers/image reads `docker save` into its big-files folder (the bundle's).
      src=$AP_BUNDLE/docker-daemon-$RANDOM.tar
      ap_run "$AP_BUNDLE/err" ap_daemon_save "$from" "$src" ||
        fatal "While performing build: conveyor failed to get: while converting reference: loading image from docker engine: $(ap_skopeo_error "$AP_BUNDLE/err")"
      srcref="docker-archive:$src"
      ;;
    oci-archive)
      # As non-root, Apptainer extracts the archive itself ("dumb tar extraction").
      if [ "$(id -u)" = 0 ]; then
        srcref="oci-archive:$from"
      else
        local otmp file=${from%%:*} tag=""
        [[ $from == *:* ]] && tag=${from#*:}
        ap_mkdtemp "$AP_BUNDLE" temp-oci- otmp || fatal "While performing build: conveyor failed to get: could not create temporary oci directory: $AP_ERR"
        ap_run "$AP_BUNDLE/err" ap_extract_archive "$file" "$otmp" ||
          fatal "While performing build: conveyor failed to get: error extracting the OCI archive file: $(head -c 2000 "$AP_BUNDLE/err")"
        srcref="oci:$otmp${tag:+:$tag}"
      fi
      ;;
  esac

  local cacheref="" digest tag_hash arch variant e=$AP_BUNDLE/err
  if [ "$disable_cache" != 1 ]; then
    # oci.ConvertReference: the cache tag is sha256(manifest digest + arch + variant)
    # (arch and variant stay empty on amd64: defaultSysCtx sets them on arm only).
    arch="" variant=""
    case "$(uname -m)" in aarch64) arch=arm64 variant=v8 ;; esac
    ap_run "$e" skopeo inspect "${tls[@]}" --raw "$srcref" >"$AP_BUNDLE/manifest" ||
      fatal "While performing build: conveyor failed to get: while converting reference: $(ap_skopeo_error "$e")"
    digest=$(sha256sum <"$AP_BUNDLE/manifest" | cut -d' ' -f1)
    tag_hash=$(printf '%s%s%s' "$digest" "$arch" "$variant" | sha256sum | cut -d' ' -f1)
    cacheref="oci:$cache_root/blob:$tag_hash"
    # The copy into the cache reports its progress (sylog.Writer: stderr,
    # unless --quiet); blobs the cache already has are skipped.
    local -a q=()
    [ "$AP_LEVEL" -gt -1 ] || q=(-q)
    ap_run "$e" skopeo copy "${q[@]}" "${tls[@]}" "$srcref" "$cacheref" >&2 ||
      fatal "While performing build: conveyor failed to get: while fetching image: $(ap_skopeo_error "$e")"
    srcref=$cacheref
  fi
  # cp.fetch: the image alone in an OCI layout in the bundle folder (tag "tmp").
  ap_run "$e" skopeo copy -q "${tls[@]}" "$srcref" "oci:$AP_BUNDLE:tmp" >/dev/null ||
    fatal "While performing build: conveyor failed to get: while fetching image: $(ap_skopeo_error "$e")"
  rm -f "$AP_BUNDLE"/docker-daemon-*.tar "$AP_BUNDLE/manifest"
  rm -rf "$AP_BUNDLE"/temp-oci-*
  local config=$AP_BUNDLE/image-config.json
  ap_run "$e" skopeo inspect --config "oci:$AP_BUNDLE:tmp" >"$config" ||
    fatal "While performing build: conveyor failed to get: while getting config: $(ap_skopeo_error "$e")"

  # ---- Pack: unpackRootfs (umoci), then what conveyorPacker_oci and
  # insertMetadata add (the recipe's apptainer-meta.py)
  local manifest d
  manifest=$(jq -r '.manifests[0].digest' "$AP_BUNDLE/index.json" | sed 's/^sha256://')
  rm -rf "$rootfs"
  if [ "$AP_LEVEL" -ge 1 ]; then
    for d in $(jq -r '.layers[].digest' "$AP_BUNDLE/blobs/sha256/$manifest"); do
      printf '%s  info unpack layer: %s\n' "$(date '+%Y/%m/%d %H:%M:%S')" "$d" >&2
    done
  fi
  local -a rootless=()
  [ "$(id -u)" = 0 ] || rootless=(--rootless)
  if ! ap_run "$e" umoci --log error raw unpack "${rootless[@]}" --image "$AP_BUNDLE:tmp" "$rootfs"; then
    err=$(head -c 2000 "$e")
    fatal "While performing build: packer failed to pack: while unpacking tmpfs: error unpacking rootfs: ${err#*: }"
  fi
  if [ "$fix_perms" = 1 ]; then
    warning "The --fix-perms option modifies the filesystem permissions on the resulting container."
    chmod -R u+rwX "$rootfs" 2>/dev/null || :
  fi
  local meta=$AP_BUNDLE/sif-objects
  ap_run "$e" /usr/bin/python3 "$recipe/apptainer-meta.py" "$rootfs" "$config" "$bootstrap" "$from" "$meta" ||
    fatal "While performing build: packer failed to pack: while inserting base environment: $(head -c 2000 "$e")"
  ap_labels_1_3 "$rootfs" "$meta"

  # ---- Assemble (SIFAssembler)
  info "Creating SIF file..."
  local squash
  squash=$(mktemp "$AP_BUNDLE/squashfs-XXXXXXXXXX")
  local -a flags=(-noappend)
  [ "$(id -u)" = 0 ] || flags+=(-all-root)
  # Apptainer forces gzip where mksquashfs's default is another (ensureGzipComp).
  mksquashfs 2>&1 | grep -q 'gzip (default)' || flags+=(-comp gzip)
  ap_run "$e" mksquashfs "$rootfs" "$squash" "${flags[@]}" >/dev/null ||
    fatal "While performing build: while creating squashfs: create command failed: exit status 1: $(head -c 2000 "$e")"
  local partarch
  partarch=$(ap_sif_arch "$(jq -r '.architecture // empty' "$config")")
  # createSIF: OUT removed at the last moment, then written in place.
  rm -rf -- "$abs"
  [ -d "$(dirname -- "$abs")" ] ||
    fatal "While performing build: while creating SIF: while creating container: open $abs: no such file or directory"
  ap_run "$e" ap_sif_create "$abs" "$meta" "$squash" "$partarch" ||
    fatal "While performing build: while creating SIF: while creating container: $(head -c 2000 "$e")"
  info "Build complete: $dest"
}

# The stand-in's message level (sylog): 1 INFO (default), -1 with -q, -3 with
# -s; containers/image's progress report goes to stderr unless quiet.
AP_LEVEL=${AP_LEVEL:-1}
AP_CHILD=""

# ap_env NAME: APPTAINER_NAME, else SINGULARITY_NAME (cmdline EnvKeys).
ap_env() {
  local a="APPTAINER_$1" s="SINGULARITY_$1"
  if [ -n "${!a:-}" ]; then printf '%s' "${!a}"; else printf '%s' "${!s:-}"; fi
}
# strconv.ParseBool's true values.
ap_bool() {
  case "${1:-}" in 1 | t | T | true | TRUE | True) return 0 ;; *) return 1 ;; esac
}
# syfs.ConfigDir: APPTAINER_CONFIGDIR, else $HOME/.apptainer ($HOME, else
# the passwd entry; "/" when it cannot be read).
ap_config_dir() {
  local d h
  d=$(ap_env CONFIGDIR)
  if [ -n "$d" ]; then
    printf '%s' "$d"
    return
  fi
  h=${HOME:-}
  [ -n "$h" ] || h=$(standin_pw_field 6)
  [ -r "$h" ] || h=/
  printf '%s/.apptainer' "${h%/}"
}

# The test images' recipe (test/cluster/images): apptainer-meta.py and the
# files it copies from Apptainer, reached through the image-recipe link next
# to the stand-ins (a staged copy links to the checkout's folder).
ap_recipe() {
  local r
  r=$(readlink -f -- "$STANDIN_LIB/../image-recipe" 2>/dev/null) || r=""
  if [ -z "$r" ] || [ ! -r "$r/apptainer-meta.py" ] || [ ! -d "$r/apptainer" ]; then
    printf 'hpcjob stand-in %s: cannot read the image recipe (apptainer-meta.py) through %s: the checkout'"'"'s test/cluster/images must be readable by %s\n' \
      "$tool" "$STANDIN_LIB/../image-recipe" "$(id -un)" >&2
    return 1
  fi
  printf '%s' "$r"
}

# ap_mkdtemp DIR PREFIX VAR: os.MkdirTemp (a decimal random suffix, mode
# 0700) into VAR; on failure AP_ERR holds Go's error text.
ap_mkdtemp() {
  local dir=$1 prefix=$2 name try=0 out
  local -n _dest=$3
  while :; do
    name=$dir/$prefix$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
    if out=$(mkdir -m 700 -- "$name" 2>&1); then
      _dest=$name
      return 0
    fi
    if [ -e "$name" ] && [ "$try" -lt 100 ]; then try=$((try + 1)); continue; fi
    if [ ! -e "$dir" ]; then
      AP_ERR="stat $dir: no such file or directory"
    elif [[ $out == *"Permission denied"* ]]; then
      AP_ERR="mkdir $name: permission denied"
    elif [[ $out == *"No space left"* ]]; then
      AP_ERR="mkdir $name: no space left on device"
    elif [ ! -d "$dir" ]; then
      AP_ERR="mkdir $name: not a directory"
    else
      AP_ERR="mkdir $name: ${out##*: }"
    fi
    return 1
  done
}

# ap_run ERRFILE CMD...: CMD in the background with its stderr in ERRFILE,
# waited for, so that a signal to the stand-in is handled at once (the trap
# stops CMD and removes the build folders), as Apptainer's signal handler does.
ap_run() {
  local errf=$1 rc
  shift
  "$@" 2>"$errf" &
  AP_CHILD=$!
  wait "$AP_CHILD"
  rc=$?
  AP_CHILD=""
  return "$rc"
}

# The build folders go on exit, a failure, or a signal (Build.cleanUp),
# unless --no-cleanup.
ap_cleanup() {
  local d
  if [ -n "${AP_CHILD:-}" ]; then
    kill -TERM "$AP_CHILD" 2>/dev/null
    wait "$AP_CHILD" 2>/dev/null
    AP_CHILD=""
  fi
  if [ "${AP_NO_CLEANUP:-0}" = 1 ] && [ -n "$AP_PARENT$AP_BUNDLE" ]; then
    info "Build performed with no clean up option, build bundle(s) located at: [${AP_PARENT:+$AP_PARENT/rootfs} $AP_BUNDLE]"
    return
  fi
  for d in "$AP_BUNDLE" "$AP_PARENT"; do
    [ -n "$d" ] && [ -e "$d" ] || continue
    rm -rf -- "$d" 2>/dev/null || { chmod -R u+rwX -- "$d" 2>/dev/null; rm -rf -- "$d"; }
  done
  AP_PARENT="" AP_BUNDLE=""
}

# ap_skopeo_error FILE: containers/image's words from skopeo's fatal line
# (without skopeo's own "Error parsing image name" prefix).
ap_skopeo_error() {
  local m
  m=$(grep -m1 'level=fatal' "$1" || head -n1 "$1")
  if [[ $m == *'msg="'* ]]; then
    m=${m#*msg=\"}
    m=${m%\"}
    m=${m//\\\"/\"}
  fi
  m=${m#Error: }
  if [[ $m == 'Error parsing image name "'* ]]; then m=${m#*\": }; fi
  printf '%s' "$m"
}

# ap_daemon_save IMG:TAG FILE: the image from the Docker daemon (docker
# save) or, where no Docker daemon listens (no DOCKER_HOST, no
# /var/run/docker.sock), from podman's store (podman save).
ap_daemon_save() {
  local ref=$1 out=$2
  if standin_docker_daemon || ! command -v podman >/dev/null 2>&1; then
    if command -v docker >/dev/null 2>&1; then
      docker save -o "$out" "$ref"
    else
      echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
      return 1
    fi
  else
    podman save -q --format docker-archive -o "$out" "$ref"
  fi
}

# ap_extract_archive FILE DIR: Apptainer's "dumb tar(gz) extraction" of an
# oci-archive as non-root (no owners, no links but regular files and folders).
ap_extract_archive() {
  [ -e "$1" ] || { echo "open $1: no such file or directory" >&2; return 1; }
  tar -xf "$1" -C "$2" --no-same-owner --no-same-permissions
}

# ap_labels_1_3 ROOTFS OBJECTS: the recipe writes Apptainer 1.5's build
# labels; 1.3.4's addBuildLabels differs (its version, org.label-schema.build-arch,
# no org.opencontainers.image.created).
ap_labels_1_3() {
  local rootfs=$1 meta=$2 garch f
  case "$(uname -m)" in x86_64) garch=amd64 ;; aarch64) garch=arm64 ;; ppc64le) garch=ppc64le ;; *) garch=$(uname -m) ;; esac
  local filter='del(."org.opencontainers.image.created")
    | ."org.label-schema.usage.apptainer.version" = $v | ."org.label-schema.build-arch" = $a'
  f=$rootfs/.singularity.d/labels.json
  jq --tab -S --arg v "$APPTAINER_VERSION_STANDIN" --arg a "$garch" "$filter" "$f" >"$f.new" && mv "$f.new" "$f" && chmod 644 "$f"
  f=$meta/inspect-metadata.json
  jq -c --arg v "$APPTAINER_VERSION_STANDIN" --arg a "$garch" ".data.attributes.labels |= ($filter)" "$f" >"$f.new" && mv "$f.new" "$f"
}

# ap_sif_arch ARCH: siftool's --partarch for an OCI architecture.
ap_sif_arch() {
  local a=$1
  if [ -z "$a" ]; then
    case "$(uname -m)" in x86_64) a=amd64 ;; aarch64) a=arm64 ;; ppc64le) a=ppc64le ;; *) a=$(uname -m) ;; esac
  fi
  case "$a" in
    386) echo 1 ;; amd64) echo 2 ;; arm) echo 3 ;; arm64) echo 4 ;; ppc64) echo 5 ;; ppc64le) echo 6 ;;
    mips) echo 7 ;; mipsle) echo 8 ;; mips64) echo 9 ;; mips64le) echo 10 ;; s390x) echo 11 ;; riscv64) echo 12 ;;
    *) echo 2 ;;
  esac
}

# ap_sif_create OUT OBJECTS SQUASHFS PARTARCH: the SIF as createSIF lays it
# out -- the launch script, the definition, the JSON objects by name, the
# system partition -- the way test/cluster/images/build.sh assembles the
# test images' .sif with siftool. Mode 0755 less the umask (CreateContainerAtPath).
ap_sif_create() {
  local out=$1 meta=$2 squash=$3 partarch=$4
  siftool new "$out" &&
    printf '#!/usr/bin/env run-singularity\n' | dd of="$out" conv=notrunc status=none &&
    siftool add "$out" "$meta/deffile" --datatype 1 --groupid 1 --filename . &&
    siftool add "$out" "$meta/inspect-metadata.json" --datatype 6 --groupid 1 &&
    siftool add "$out" "$meta/oci-config.json" --datatype 6 --groupid 1 &&
    siftool add "$out" "$squash" --datatype 4 --groupid 1 --parttype 2 --partfs 1 --partarch "$partarch" &&
    chmod "$(printf '%o' $((0755 & ~0$(umask))))" "$out"
}
