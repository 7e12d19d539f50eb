# shellcheck shell=bash
# `enroot import` for the enroot stand-in (sourced after common.sh and
# enroot-lib.sh). A transcription of enroot 4.1.2 (github.com/NVIDIA/enroot,
# tag v4.1.2, Apache-2.0):
#   enroot.in        enroot::import (options, usage), the configuration
#                    defaults (ENROOT_CACHE_PATH, ENROOT_TEMP_PATH,
#                    ENROOT_SQUASH_OPTIONS...), config::fini, the cache folder
#                    made at start
#   src/runtime.sh   runtime::import (the host architecture, the schemes)
#   src/common.sh    common::log/err/curl (the "[INFO]"/"[ERROR]" lines and
#                    "URL ... returned error code: 404 Not Found"), mktmpdir,
#                    realpath, rmall, fixperms, debarch, checkcmd
#   src/docker.sh    docker::_parse_uri (both docker://[USER@][REGISTRY#]IMAGE[:TAG]
#                    and, since 4.0, docker://REGISTRY/IMAGE[:TAG] when the
#                    first part has a "." or a ":"), _authenticate (the
#                    anonymous-token flow and $ENROOT_CONFIG_PATH/.credentials),
#                    _download (manifest list, manifest, config, the layers
#                    missing from the cache), _download_extract (each blob
#                    checked and stored zstd-compressed in ENROOT_CACHE_PATH
#                    under its digest), _prepare_layers, configure
#                    (/etc/environment, /etc/rc, /etc/rc.local, /etc/fstab),
#                    import (the default name, "File already exists", the
#                    temporary folder, mksquashfs), daemon::import (dockerd://,
#                    podman://)
# What differs, because the helpers enroot ships are not packaged in Debian:
# GNU parallel runs the downloads one after the other; the layers are applied
# with umoci's rootless unpack (whiteouts included) to one folder, from a
# small OCI layout of the cached layers, instead of enroot-aufs2ovlfs and an
# overlay mounted by enroot-mksquashovlfs; mksquashfs then reads that folder
# with enroot's options. dockerd:// uses podman where no Docker daemon listens.

# enroot_import ARG...: `enroot import [options] [--] URI`.
enroot_import() {
  local uri="" filename="" arch=""
  while [ $# -gt 0 ]; do
    case "$1" in
      -a | --arch)
        [ -z "${2-}" ] && enroot_import_usage 1
        arch=$2
        shift 2
        ;;
      --arch=*)
        [ -z "${1#*=}" ] && enroot_import_usage 1
        arch=${1#*=}
        shift
        ;;
      -o | --output)
        [ -z "${2-}" ] && enroot_import_usage 1
        filename=$2
        shift 2
        ;;
      --output=*)
        [ -z "${1#*=}" ] && enroot_import_usage 1
        filename=${1#*=}
        shift
        ;;
      -h | --help) enroot_import_usage 0 ;;
      --) shift; break ;;
      -?*) enroot_import_usage 1 ;;
      *) break ;;
    esac
  done
  [ $# -eq 1 ] || enroot_import_usage 1
  uri=$1
  (
    set -euo pipefail
    shopt -s lastpipe
    enroot_import_config
    # runtime::import
    [ -n "$arch" ] || arch=$(uname -m)
    case "$uri" in
      docker://*) docker_import "$uri" "$filename" "$arch" ;;
      dockerd://* | podman://*) docker_daemon_import "$uri" "$filename" "$arch" ;;
      *) common_err "Invalid argument: $uri" ;;
    esac
  )
}

enroot_import_usage() {
  cat <<-EOF
	Usage: enroot import [options] [--] URI
	
	Import a container image from a specific location.
	
	 Schemes:
	   docker://[USER@][REGISTRY#]IMAGE[:TAG]  Import a Docker image from a registry
	   dockerd://IMAGE[:TAG]                   Import a Docker image from the Docker daemon
	   podman://IMAGE[:TAG]                    Import a Docker image from a local podman repository

	 Options:
	   -a, --arch    Architecture of the image (defaults to host architecture)
	   -o, --output  Name of the output image file (defaults to "URI.sqsh")
	EOF
  exit "$1"
}

# enroot.in's configuration: the environment wins over the defaults
# (config::export), then settings that say no are unset (config::fini), and
# the cache folder is made. (The stand-in reads no enroot.conf.)
enroot_import_config() {
  local home=${HOME:-$(standin_pw_field 6)} var
  cfg() { export "$1=${!1:-$2}"; }
  cfg XDG_DATA_HOME "$home/.local/share"
  cfg XDG_CONFIG_HOME "$home/.config"
  cfg XDG_CACHE_HOME "$home/.cache"
  cfg ENROOT_CONFIG_PATH "$XDG_CONFIG_HOME/enroot"
  cfg ENROOT_CACHE_PATH "$XDG_CACHE_HOME/enroot"
  cfg ENROOT_DATA_PATH "$XDG_DATA_HOME/enroot"
  cfg ENROOT_TEMP_PATH "${TMPDIR:-/tmp}"
  cfg ENROOT_GZIP_PROGRAM "$(command -v pigz >/dev/null && echo pigz || echo gzip)"
  cfg ENROOT_ZSTD_OPTIONS "-1"
  cfg ENROOT_SQUASH_OPTIONS "-comp lzo -noD -exit-on-error"
  cfg ENROOT_MAX_PROCESSORS "$(nproc)"
  cfg ENROOT_MAX_CONNECTIONS 10
  cfg ENROOT_CONNECT_TIMEOUT 30
  cfg ENROOT_TRANSFER_TIMEOUT 0
  cfg ENROOT_TRANSFER_RETRIES 0
  cfg ENROOT_ALLOW_HTTP false
  for var in $(compgen -e ENROOT_); do
    if [[ ${!var} =~ ^(no?|N[oO]?|[fF](alse)?|FALSE)$ ]]; then unset "$var"; fi
  done
  (umask 077 && mkdir -p "$ENROOT_CACHE_PATH" "$ENROOT_DATA_PATH")
  [ -t 2 ] && TTY_ON=y || TTY_OFF=y
  if [ -n "${TTY_ON-}" ] && [ -x "$(command -v tput)" ] && [ "$(tput colors 2>/dev/null || echo 0)" -ge 15 ]; then
    clr=$(tput sgr0) red=$(tput setaf 1) yellow=$(tput setaf 3) blue=$(tput setaf 12)
  fi
  token_dir="${ENROOT_CACHE_PATH}/.tokens.${EUID}"
  creds_file="${ENROOT_CONFIG_PATH}/.credentials"
  if [ -n "${ENROOT_ALLOW_HTTP-}" ]; then
    curl_proto="http"
    curl_opts=("--proto" "=http,https" "--retry" "${ENROOT_TRANSFER_RETRIES}" "--connect-timeout" "${ENROOT_CONNECT_TIMEOUT}" "--max-time" "${ENROOT_TRANSFER_TIMEOUT}" "-SsL")
  else
    curl_proto="https"
    curl_opts=("--proto" "=https" "--retry" "${ENROOT_TRANSFER_RETRIES}" "--connect-timeout" "${ENROOT_CONNECT_TIMEOUT}" "--max-time" "${ENROOT_TRANSFER_TIMEOUT}" "-SsL")
  fi
}

# ------------------------------------------------------------ src/common.sh
common_log() {
  local -r lvl="${1-}" msg="${2-}" mod="${3-}"
  local prefix=''
  if [ -n "$msg" ]; then
    case "$lvl" in
      INFO) prefix="${blue-}[INFO]${clr-}" ;;
      WARN) prefix="${yellow-}[WARN]${clr-}" ;;
      ERROR) prefix="${red-}[ERROR]${clr-}" ;;
    esac
    printf "%s %b\n" "$prefix" "$msg" >&2
  fi
  if [ -n "${TTY_ON-}" ]; then
    if [ $# -eq 0 ] || [ "$mod" = "NL" ]; then
      echo >&2
    fi
  fi
}

common_err() {
  common_log ERROR "$1"
  exit 1
}

common_rmall() {
  local -r path="$1"
  rm --one-file-system --preserve-root -rf "$path" 2>/dev/null ||
    { chmod -f -R +rwX "$path" || :; rm --one-file-system --preserve-root -rf "$path"; }
}

common_mktmpdir() {
  umask 077
  mktemp -d -p "${ENROOT_TEMP_PATH-}" "$1.XXXXXXXXXX"
}

common_read() {
  read "$@" || :
}

common_chdir() {
  cd "$1" 2>/dev/null || common_err "Could not change directory: $1"
}

common_curl() {
  local rv=0 code=0 status='' stdout ign
  exec {stdout}>&1
  { code=$(curl -o "/proc/self/fd/${stdout}" -w '%{http_code}' "$@") || rv=$?; } {stdout}>&1
  exec {stdout}>&-
  if [ "$code" -ge 400 ] 2>/dev/null; then
    for ign in ${CURL_IGNORE-}; do
      [ "$code" -eq "$ign" ] && return
    done
    case "$code" in
      400) status="Bad Request" ;;
      401) status="Unauthorized" ;;
      402) status="Payment Required" ;;
      403) status="Forbidden" ;;
      404) status="Not Found" ;;
      405) status="Method Not Allowed" ;;
      406) status="Not Acceptable" ;;
      407) status="Proxy Authentication Required" ;;
      408) status="Request Time-out" ;;
      409) status="Conflict" ;;
      410) status="Gone" ;;
      411) status="Length Required" ;;
      412) status="Precondition Failed" ;;
      413) status="Request Entity Too Large" ;;
      414) status="Request-URI Too Large" ;;
      415) status="Unsupported Media Type" ;;
      416) status="Requested range not satisfiable" ;;
      417) status="Expectation Failed" ;;
      500) status="Internal Server Error" ;;
      501) status="Not Implemented" ;;
      502) status="Bad Gateway" ;;
      503) status="Service Unavailable" ;;
      504) status="Gateway Time-out" ;;
    esac
    common_err "URL ${*: -1} returned error code: ${code} ${status}"
  fi
  return ${rv}
}

common_jq() {
  if ! jq "$@" 2>/dev/null; then
    common_err "Could not process JSON input"
  fi
}

common_realpath() {
  local -r path="$1"
  local rpath=''
  if ! rpath=$(readlink -f "$path" 2>/dev/null); then
    common_err "No such file or directory: $path"
  fi
  printf "%s" "$rpath"
}

common_evalnetrc() {
  local -r file="$1"
  [ ! -f "$file" ] && return
  awk '{
        if (NF >= 6 && $6 ~ "^\\$") {
            for(i=1; i<6; i++) printf "%s ", $i
            for(i=1; i<6; i++) sub("^["FS"]*[^"FS"]+["FS"]+", "", $0)
            system("stty sane; echo "$0)
        } else
            print
    }' "$file"
}

common_checkcmd() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null || common_err "Command not found: $cmd"
  done
}

common_fixperms() {
  chmod -f -R u+rX "$1" || :
  find "$1" -maxdepth 15 -type d ! -perm -u=w -exec chmod -f u+w {} \+ || :
}

common_debarch() {
  case "$1" in
    x86_64) printf "amd64" ;;
    aarch64) printf "arm64" ;;
    ppc64le) printf "ppc64le" ;;
    *) common_err "Unsupported architecture: $1" ;;
  esac
}

# ------------------------------------------------------------ src/docker.sh
docker_authenticate() {
  local -r user="$1" registry="$2" url="$3"
  local realm='' token='' req_params=() resp_headers='' auth='' fd

  # Query the registry to see if we're authorized.
  common_log INFO "Querying registry for permission grant"
  resp_headers=$(CURL_IGNORE=401 common_curl "${curl_opts[@]}" -I -- "$url")

  # If we don't need to authenticate, we're done.
  if ! grep -qi '^www-authenticate:' <<<"$resp_headers"; then
    common_log INFO "Permission granted"
    return
  fi

  # Otherwise, craft a new token request from the WWW-Authenticate header.
  printf "%s" "$resp_headers" | awk '(tolower($1) ~ "^www-authenticate:"){
        sub(/"\r/, "", $0)
        for (i = 1; i <= split($3, params, /="|",/); i += 2)
            tolower(params[i]) == "realm" ?  realm = params[i+1] : data[params[i]] = params[i+1]

        print $2; print realm; for (i in data) print "--data-urlencode\n" i"="data[i]
    }' | { common_read -r auth; common_read -r realm; readarray -t req_params; }

  if [ -z "$realm" ]; then
    common_err "Could not parse authentication realm from $url"
  fi

  # If a user was specified, lookup his credentials.
  common_log INFO "Authenticating with user: ${user:-<anonymous>}"
  if [ -n "$user" ]; then
    if grep -qs "^machine[[:space:]]\+${registry%:*}[[:space:]]\+login[[:space:]]\+${user}[[:space:]]" "$creds_file"; then
      common_log INFO "Using credentials from file: $creds_file"
      exec {fd}< <(common_evalnetrc "$creds_file" 2>/dev/null)
      req_params+=("--netrc-file" "/proc/self/fd/${fd}")
    else
      req_params+=("-u" "$user")
    fi
  fi

  case "$auth" in
    Bearer)
      # Request a new token.
      common_curl "${curl_opts[@]}" -G ${req_params[@]+"${req_params[@]}"} -- "$realm" |
        common_jq -r '.token? // .access_token? // empty' |
        common_read -r token
      ;;
    Basic)
      # Check that we have valid credentials and save them if successful.
      common_curl "${curl_opts[@]}" -G -v ${req_params[@]+"${req_params[@]}"} -- "$url" 2>&1 >/dev/null |
        awk '/Authorization: Basic/ { sub(/\r/, "", $4); print $4 }' |
        common_read -r token
      ;;
    *)
      common_err "Unsupported authentication method $auth"
      ;;
  esac

  [ -v fd ] && exec {fd}>&-

  # Store the new token.
  if [ -n "$token" ]; then
    # shellcheck disable=SC2174 # as enroot: only the tokens folder is 0700
    mkdir -m 0700 -p "$token_dir"
    (umask 077 && printf 'header "Authorization: %s %s"' "$auth" "$token" >"${token_dir}/${registry}.$$")
    common_log INFO "Authentication succeeded"
  fi
}

docker_download_extract() (
  local -r digest="$1" media_type="$2"
  shift 2
  local curl_args=("$@")
  local tmpfile='' checksum='' stdout _

  set -euo pipefail
  shopt -s lastpipe
  umask 037

  [ -e "${ENROOT_CACHE_PATH}/${digest}" ] && exit 0

  trap 'common_rmall "${tmpfile}" 2> /dev/null' EXIT
  tmpfile=$(mktemp -p "${ENROOT_CACHE_PATH}" "${digest}.XXXXXXXXXX")

  exec {stdout}>&1
  {
    if [ "$media_type" = "application/vnd.oci.image.layer.v1.tar+zstd" ]; then
      curl "${curl_args[@]}" | tee "/proc/self/fd/${stdout}" >"$tmpfile"
    else
      # shellcheck disable=SC2086 # ENROOT_ZSTD_OPTIONS is a list of options
      curl "${curl_args[@]}" | tee "/proc/self/fd/${stdout}" |
        "${ENROOT_GZIP_PROGRAM}" -d -f -c |
        zstd -T"$(expr "${ENROOT_MAX_PROCESSORS}" / "${ENROOT_MAX_CONNECTIONS}" \| 1)" -q -f -o "$tmpfile" ${ENROOT_ZSTD_OPTIONS}
    fi
  } {stdout}>&1 | sha256sum | common_read -r checksum _
  exec {stdout}>&-

  if [ "$digest" != "$checksum" ]; then
    printf "Checksum mismatch: %s\n" "$digest" >&2
    exit 1
  fi

  chmod 640 "$tmpfile"
  mv -n "$tmpfile" "${ENROOT_CACHE_PATH}/${digest}"
)

docker_download() {
  local -r user="$1" registry="$2" tag="$4" arch="$5"
  local image="$3"

  local req_params=() layers=() missing_digests=() cached_digests='' manifest='' config='' media_type='' d try
  local accept_manifest_list=("-H" "Accept: application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json")
  local accept_manifest=("-H" "Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
  local url_manifest="${curl_proto}://${registry}/v2/${image}/manifests/${tag}"
  local -r url_digest="${curl_proto}://${registry}/v2/${image}/blobs/"

  # Authenticate with the registry.
  docker_authenticate "$user" "$registry" "$url_manifest"
  if [ -f "${token_dir}/${registry}.$$" ]; then
    req_params+=("-K" "${token_dir}/${registry}.$$")
  fi

  # Attempt to use the image manifest list if it exists.
  common_log INFO "Fetching image manifest list"
  CURL_IGNORE="401 404" common_curl "${curl_opts[@]}" "${accept_manifest_list[@]}" ${req_params[@]+"${req_params[@]}"} -- "$url_manifest" |
    common_jq -R -s -r "(fromjson | .manifests[] | select(.platform.architecture == \"${arch}\") | .digest)? // empty" |
    common_read -r manifest

  if [ -n "$manifest" ]; then
    url_manifest="${curl_proto}://${registry}/v2/${image}/manifests/${manifest}"
  fi

  # Fetch the image manifest.
  common_log INFO "Fetching image manifest"
  common_curl "${curl_opts[@]}" "${accept_manifest[@]}" ${req_params[@]+"${req_params[@]}"} -- "$url_manifest" |
    common_jq -r '(.config.digest | ltrimstr("sha256:"))? // empty, (.layers[0].mediaType)? // empty, ([.layers[].digest | ltrimstr("sha256:")] | reverse | @tsv)?' |
    { common_read -r config; common_read -r media_type; IFS=$'\t' common_read -r -a layers; }

  if [ -z "$config" ] || [ "${#layers[@]}" -eq 0 ]; then
    common_err "Could not parse digest information from $url_manifest"
  fi
  missing_digests=("${layers[@]}")

  if [ ! -e "${ENROOT_CACHE_PATH}/${config}" ]; then
    docker_download_extract "$config" "application/vnd.oci.image.config.v1+json" "${curl_opts[@]}" -f ${req_params[@]+"${req_params[@]}"} -- "${url_digest}sha256:${config}"
  fi

  # Check which digests are already cached.
  printf "%s\n" "${layers[@]}" |
    sort -u |
    sort - <(ls "$ENROOT_CACHE_PATH") |
    uniq -d |
    paste -sd '|' - |
    common_read -r cached_digests

  if [ -n "$cached_digests" ]; then
    printf "%s\n" "${layers[@]}" |
      { grep -Ev "$cached_digests" || :; } |
      readarray -t missing_digests
  fi

  # Download digests, verify their checksums and extract them in the cache
  # (enroot runs GNU parallel --retries 2; the stand-in, one after the other).
  if [ "${#missing_digests[@]}" -gt 0 ]; then
    common_log INFO "Downloading ${#missing_digests[@]} missing layers..." NL
    for d in "${missing_digests[@]}"; do
      for try in 1 2; do
        if docker_download_extract "$d" "$media_type" "${curl_opts[@]}" -f ${req_params[@]+"${req_params[@]}"} -- "${url_digest}sha256:$d"; then
          break
        fi
        [ "$try" = 2 ] && exit 1
      done
    done
    common_log
  else
    common_log INFO "Found all layers in cache"
  fi

  # Return the container configuration along with all the layers.
  printf "%s\n" "$config" "${layers[*]}"
}

docker_parse_uri() {
  local -r uri="$1"
  local -r reg_user="[[:alnum:]_.!~*\'()%\;:\&=+$,-@]+"
  local -r reg_image="[[:lower:][:digit:]/._-]+"
  local -r reg_tag="[[:alnum:]._:-]+"
  local -r reg_digest="sha256:[[:alnum:]]+"
  local user='' registry='' image='' tag='' match_registry match_image

  # Try Docker standard syntax with registry: docker://[USER@]REGISTRY/IMAGE[@DIGEST|:TAG]
  # Registry must be FQDN (contains ".") or have port (contains ":"), otherwise it's a Docker Hub namespace
  if [[ $uri =~ ^docker://((${reg_user})@)?([^/#]+)/(${reg_image}):(${reg_tag})@(${reg_digest})$ ]]; then
    match_registry="${BASH_REMATCH[3]}"
    match_image="${BASH_REMATCH[4]}"
    user="${BASH_REMATCH[2]}"
    # Ignore tag, use digest
    tag="${BASH_REMATCH[6]}"
    if [[ $match_registry =~ \.|: ]]; then
      registry="$match_registry"
      image="$match_image"
    else
      registry="registry-1.docker.io"
      image="${match_registry}/${match_image}"
    fi
  elif [[ $uri =~ ^docker://((${reg_user})@)?([^/#]+)/(${reg_image})@(${reg_digest})$ ]]; then
    match_registry="${BASH_REMATCH[3]}"
    match_image="${BASH_REMATCH[4]}"
    user="${BASH_REMATCH[2]}"
    tag="${BASH_REMATCH[5]}"
    if [[ $match_registry =~ \.|: ]]; then
      registry="$match_registry"
      image="$match_image"
    else
      registry="registry-1.docker.io"
      image="${match_registry}/${match_image}"
    fi
  elif [[ $uri =~ ^docker://((${reg_user})@)?([^/#]+)/(${reg_image})(:(${reg_tag}))?$ ]]; then
    match_registry="${BASH_REMATCH[3]}"
    match_image="${BASH_REMATCH[4]}"
    user="${BASH_REMATCH[2]}"
    tag="${BASH_REMATCH[6]}"
    if [[ $match_registry =~ \.|: ]]; then
      registry="$match_registry"
      image="$match_image"
    else
      registry="registry-1.docker.io"
      image="${match_registry}/${match_image}"
    fi
  elif [[ $uri =~ ^docker://((${reg_user})@)?([^/@#:]+):(${reg_tag})@(${reg_digest})$ ]]; then
    user="${BASH_REMATCH[2]}"
    registry="registry-1.docker.io"
    image="library/${BASH_REMATCH[3]}"
    tag="${BASH_REMATCH[5]}"
  elif [[ $uri =~ ^docker://((${reg_user})@)?([^/@#:]+)@(${reg_digest})$ ]]; then
    user="${BASH_REMATCH[2]}"
    registry="registry-1.docker.io"
    image="library/${BASH_REMATCH[3]}"
    tag="${BASH_REMATCH[4]}"
  elif [[ $uri =~ ^docker://((${reg_user})@)?([^/@#:]+)(:(${reg_tag}))?$ ]]; then
    user="${BASH_REMATCH[2]}"
    registry="registry-1.docker.io"
    image="library/${BASH_REMATCH[3]}"
    tag="${BASH_REMATCH[5]}"
  # enroot format with '#' as the separator between registry and image
  elif [[ $uri =~ ^docker://((${reg_user})@)?([^#/@]+)#(${reg_image}):(${reg_tag})@(${reg_digest})$ ]]; then
    user="${BASH_REMATCH[2]}"
    registry="${BASH_REMATCH[3]}"
    image="${BASH_REMATCH[4]}"
    tag="${BASH_REMATCH[6]}"
  elif [[ $uri =~ ^docker://((${reg_user})@)?([^#/@]+)#(${reg_image})@(${reg_digest})$ ]]; then
    user="${BASH_REMATCH[2]}"
    registry="${BASH_REMATCH[3]}"
    image="${BASH_REMATCH[4]}"
    tag="${BASH_REMATCH[5]}"
  elif [[ $uri =~ ^docker://((${reg_user})@)?([^#/@]+)#(${reg_image})(:(${reg_tag}))?$ ]]; then
    user="${BASH_REMATCH[2]}"
    registry="${BASH_REMATCH[3]}"
    image="${BASH_REMATCH[4]}"
    tag="${BASH_REMATCH[6]}"
  else
    common_err "Invalid image reference: $uri"
  fi

  if [ -z "$tag" ]; then
    tag="latest"
  fi

  # Try to infer the user from the credential file.
  if [ -s "$creds_file" ] && [ -n "$registry" ] && [ -z "$user" ]; then
    user="$(awk "/^[[:space:]]*machine[[:space:]]+${registry%:*}[[:space:]]+login[[:space:]]+.+/ { print \$4; exit }" "$creds_file")"
  fi

  printf "%s\n%s\n%s\n%s\n" "$user" "$registry" "$image" "$tag"
}

# docker::_prepare_layers, in the temporary folder: the layers from the
# cache, applied in order with their whiteouts (the stand-in: umoci, see
# the header), then docker::configure.
docker_prepare_layers() (
  local -r user="$1" registry="$2" image="$3" tag="$4" arch="$5"
  local layers=() config='' i n size diffids=() blobs=() manifest=''

  set -euo pipefail

  docker_download "$user" "$registry" "$image" "$tag" "$arch" |
    { common_read -r config; IFS=' ' common_read -r -a layers; }

  common_log INFO "Extracting image layers..." NL
  zstd -q -d -o config "${ENROOT_CACHE_PATH}/${config}"
  # A layout of the uncompressed layers, bottom first, named by the config's
  # diff_ids (umoci checks each one), and the config itself.
  mkdir -p layout/blobs/sha256
  printf '{"imageLayoutVersion":"1.0.0"}' >layout/oci-layout
  readarray -t diffids < <(jq -r '.rootfs.diff_ids[]? // empty' config)
  n=${#layers[@]}
  [ "${#diffids[@]}" -eq "$n" ] || standin_die "the image config has ${#diffids[@]} diff_ids for $n layers"
  for ((i = 0; i < n; i++)); do
    zstd -q -d -c "${ENROOT_CACHE_PATH}/${layers[n - 1 - i]}" >"layout/blobs/sha256/${diffids[i]#sha256:}"
    size=$(stat -c %s "layout/blobs/sha256/${diffids[i]#sha256:}")
    blobs+=("$(jq -cn --arg d "${diffids[i]}" --argjson s "$size" '{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $d, size: $s}')")
  done
  cp config "layout/blobs/sha256/$config"
  manifest=$(jq -cn --arg c "sha256:$config" --argjson s "$(stat -c %s config)" --slurpfile l <(printf '%s\n' "${blobs[@]}") \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $s}, layers: $l}')
  printf '%s' "$manifest" >layout/manifest.json
  i=$(sha256sum <layout/manifest.json | cut -d' ' -f1)
  mv layout/manifest.json "layout/blobs/sha256/$i"
  jq -cn --arg d "sha256:$i" --argjson s "${#manifest}" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
      annotations: {"org.opencontainers.image.ref.name": "enroot"}}]}' >layout/index.json
  local -a rootless=()
  [ "$EUID" -eq 0 ] || rootless=(--rootless)
  umoci --log error raw unpack "${rootless[@]}" --image layout:enroot rootfs >&2
  common_rmall layout
  # enroot's tar keeps no extended attributes; umoci's rootless unpack
  # records owners it cannot set in user.rootlesscontainers: drop them.
  /usr/bin/python3 -c '
import os, sys
for top, dirs, files in os.walk(sys.argv[1]):
    for name in dirs + files:
        p = os.path.join(top, name)
        try:
            for x in os.listxattr(p, follow_symlinks=False):
                if x.startswith("user."):
                    os.removexattr(p, x, follow_symlinks=False)
        except OSError:
            pass
' rootfs
  # tar --exclude='dev/*'
  find rootfs/dev -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null || :
  common_fixperms rootfs
  common_log

  common_log INFO "Converting whiteouts..." NL
  common_log

  enroot_configure "${PWD}/rootfs" config "$arch"

  printf "%s\n%s\n" "$config" "${#layers[@]}"
)

# docker::configure ROOTFS CONFIG [ARCH]. enroot writes these files into the
# overlay's top folder; the stand-in writes them into the merged root
# filesystem, replacing (never writing through) what the image has there.
enroot_configure() {
  local -r rootfs="$1" config="$2" arch="${3-}"
  local -r fstab="${rootfs}/etc/fstab" initrc="${rootfs}/etc/rc" rclocal="${rootfs}/etc/rc.local" environ="${rootfs}/etc/environment"
  local entrypoint=() cmd=() workdir='' platform=''

  [ -L "$rootfs/etc" ] && rm -f "$rootfs/etc"
  mkdir -p "${fstab%/*}" "${initrc%/*}" "${environ%/*}"
  rm -rf "$fstab" "$initrc" "$rclocal" "$environ"

  if [ -n "$arch" ]; then
    # Check if the config architecture matches what we expect.
    common_jq -r '(.architecture // .Architecture)? // empty' "$config" | common_read -r platform
    if [ "$arch" != "$platform" ]; then
      common_log WARN "Image architecture doesn't match the requested one: ${platform} != ${arch}"
    fi
  fi

  # Configure volumes as simple rootfs bind mounts.
  # shellcheck disable=SC2016 # ${ENROOT_ROOTFS} is for enroot-mount, literally
  common_jq -r '(.config.Volumes)? // empty | keys[] | "${ENROOT_ROOTFS}\(.) \(.) none x-create=dir,bind,rw,nosuid,nodev"' "$config" >"$fstab"

  # Configure environment variables.
  common_jq -r '(.config.Env[])? // empty' "$config" >"$environ"

  # Configure labels as comments.
  common_jq -r '(.config.Labels)? // empty | to_entries[] | "# \(.key) \(.value | gsub("\n"; " "))"' "$config" >"$initrc"
  [ -s "$initrc" ] && echo >>"$initrc"

  # Generate the rc script with the working directory, the entrypoint and the command.
  common_jq -r '(.config.WorkingDir)? // empty' "$config" | common_read -r workdir
  common_jq -r '(.config.Entrypoint[])? // empty' "$config" | readarray -t entrypoint
  common_jq -r '(.config.Cmd[])? // empty' "$config" | readarray -t cmd
  if [ "${#entrypoint[@]}" -eq 0 ] && [ "${#cmd[@]}" -eq 0 ]; then
    cmd=("/bin/sh")
  fi

  # Create the working directory if it doesn't exist (inside the root
  # filesystem: symbolic links are resolved there, as in enroot's overlay).
  standin_mkpoint "$rootfs" "${workdir:-/}" dir >/dev/null || common_err "Could not create directory: ${workdir:-/}"

  # shellcheck disable=SC2016 # "\$@" and "\$#" are for /etc/rc
  cat >>"$initrc" <<-EOF
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

  # Generate an empty rc.local script.
  cat >"$rclocal" <<-EOF
	# This file is sourced by /etc/rc when the container starts.
	# It can be used to manipulate the entrypoint or the command of the container.
	EOF
}

docker_import() (
  local -r uri="$1"
  local filename="$2" arch="$3"
  local user='' registry='' image='' tag='' tmpdir='' timestamp=() config='' display_image

  common_checkcmd curl grep awk jq tar "${ENROOT_GZIP_PROGRAM}" find mksquashfs zstd
  standin_need umoci

  docker_parse_uri "$uri" |
    { common_read -r user; common_read -r registry; common_read -r image; common_read -r tag; }

  # Convert the architecture to the debian format.
  if [ -n "$arch" ]; then
    arch=$(common_debarch "$arch")
  fi

  # Generate an absolute filename if none was specified.
  if [ -z "$filename" ]; then
    # Remove "library/" prefix for Docker Hub images when generating default filename
    display_image="$image"
    if [[ $registry == "registry-1.docker.io" && $image == library/* ]]; then
      display_image="${image#library/}"
    fi
    filename="${display_image////+}${tag:++${tag}}.sqsh"
  fi
  filename=$(common_realpath "$filename")
  if [ -e "$filename" ]; then
    common_err "File already exists: $filename"
  fi

  # Create a temporary directory and chdir to it.
  trap 'common_rmall "${tmpdir}" 2> /dev/null; rm -f "${token_dir}"/*.$$ 2> /dev/null' EXIT
  tmpdir=$(common_mktmpdir enroot)
  common_chdir "$tmpdir"

  # Prepare layers and configure rootfs.
  docker_prepare_layers "$user" "$registry" "$image" "$tag" "$arch" |
    { common_read -r config; common_read -r _; }

  if [ -n "${SOURCE_DATE_EPOCH-}" ]; then
    timestamp=("-mkfs-time" "${SOURCE_DATE_EPOCH}" "-all-time" "${SOURCE_DATE_EPOCH}")
  fi

  # Create the final squashfs filesystem by overlaying all the layers.
  common_log INFO "Creating squashfs filesystem..." NL
  # shellcheck disable=SC2086 # ENROOT_SQUASH_OPTIONS is a list of options
  mksquashfs rootfs "$filename" ${timestamp[@]+"${timestamp[@]}"} -all-root ${TTY_OFF+-no-progress} -processors "${ENROOT_MAX_PROCESSORS}" ${ENROOT_SQUASH_OPTIONS} >&2
)

docker_daemon_import() (
  local -r uri="$1"
  local filename="$2" arch="$3"
  local image='' tmpdir='' engine='' tool

  case "$uri" in
    dockerd://*) engine="docker" ;;
    podman://*) engine="podman" ;;
  esac
  # The stand-in: podman plays the Docker daemon where none listens.
  tool=$engine
  if [ "$engine" = docker ] && ! standin_docker_daemon && command -v podman >/dev/null 2>&1; then
    tool=podman
  fi

  common_checkcmd jq "$tool" mksquashfs tar

  # Parse the image reference of the form 'dockerd://<image>[:<tag>]'.
  local -r reg_image="[[:alnum:]/._:-]+"

  if [[ $uri =~ ^[[:alpha:]]+://(${reg_image})$ ]]; then
    image="${BASH_REMATCH[1]}"
  else
    common_err "Invalid image reference: $uri"
  fi

  # Convert the architecture to the debian format.
  if [ -n "$arch" ]; then
    arch=$(common_debarch "$arch")
  fi

  # Generate an absolute filename if none was specified.
  if [ -z "$filename" ]; then
    filename="${image//[:\/]/+}.sqsh"
  fi
  filename=$(common_realpath "$filename")
  if [ -e "$filename" ]; then
    common_err "File already exists: $filename"
  fi

  # Create a temporary directory and chdir to it. enroot's trap removes the
  # container with `docker rm` for podman:// too: without a Docker daemon
  # that fails, and under set -e the import then exits with docker's status
  # (1, or 127 without the docker command) after writing a complete image,
  # and the podman container "enroot.XXXXXXXXXX" stays. (podman playing
  # Docker for dockerd:// removes it from / : podman fails in the deleted
  # temporary folder, where docker would not.)
  if [ "$tool" != "$engine" ]; then
    trap 'common_rmall "${tmpdir}" 2> /dev/null; (cd / && "$tool" rm -f -v "${tmpdir##*/}") > /dev/null 2>&1' EXIT
  else
    trap 'common_rmall "${tmpdir}" 2> /dev/null; docker rm -f -v "${tmpdir##*/}" > /dev/null 2>&1' EXIT
  fi
  tmpdir=$(common_mktmpdir enroot)
  common_chdir "$tmpdir"

  # Download the image (if necessary) and create a container for extraction.
  common_log INFO "Fetching image" NL
  "$tool" create --name "${PWD##*/}" "$image" >&2
  common_log

  # Extract and configure the rootfs.
  common_log INFO "Extracting image content..."
  mkdir rootfs
  "$tool" export "${PWD##*/}" | tar -C rootfs --warning=no-timestamp --anchored --exclude='dev/*' --exclude='.dockerenv' -px
  common_fixperms rootfs
  "$tool" inspect "$image" | common_jq '.[] | with_entries(.key|=ascii_downcase)' >config
  enroot_configure rootfs config "$arch"

  # Create the final squashfs filesystem.
  common_log INFO "Creating squashfs filesystem..." NL
  # shellcheck disable=SC2086 # ENROOT_SQUASH_OPTIONS is a list of options
  mksquashfs rootfs "$filename" -all-root ${TTY_OFF+-no-progress} -processors "${ENROOT_MAX_PROCESSORS}" ${ENROOT_SQUASH_OPTIONS} >&2
)
