# shellcheck shell=bash
# enroot's `start`, for the enroot and srun (pyxis) stand-ins (sourced after
# common.sh). Written after enroot 3.x/4.x (github.com/NVIDIA/enroot):
#   src/runtime.sh        runtime::start, _start, _do_environ, _do_mounts_*, _do_rc
#   bin/enroot-mount.c    fstab entries with missing fields, x-create=, the error messages
#   bin/enroot-switchroot.c  clearenv + the environment file, the login defaults
#                         (sys_login), /etc/rc run by the user's shell as a login shell
#   conf/mounts/10-system.fstab, 20-config.fstab, conf/environ/10-terminal.env,
#   conf/hooks/10-home.sh (ENROOT_MOUNT_HOME), 10-shadow.sh (the user's passwd
#   entry and home folder inside the container)
# What ch-run cannot do (a read-only bind, a tmpfs at any path) is listed in
# README.md.

# enroot's configuration switches: "no", "n", "false", "0"... mean off
# (enroot.in config::fini); unset means the default.
enroot_on() { # NAME DEFAULT
  local v=${!1-$2}
  [[ -n $v && ! $v =~ ^(no?|N[oO]?|[fF](alse)?|FALSE|0)$ ]]
}

# The user's container data folder: ENROOT_DATA_PATH, by default
# ${XDG_DATA_HOME:-$HOME/.local/share}/enroot (enroot.in, doc/configuration.md).
enroot_data_path() {
  local home=${HOME:-$(standin_pw_field 6)}
  printf '%s' "${ENROOT_DATA_PATH:-${XDG_DATA_HOME:-$home/.local/share}/enroot}"
}
enroot_config_path() {
  local home=${HOME:-$(standin_pw_field 6)}
  printf '%s' "${ENROOT_CONFIG_PATH:-${XDG_CONFIG_HOME:-$home/.config}/enroot}"
}

enroot_err() { # enroot's common::err: "[ERROR] message", exit 1
  printf '[ERROR] %s\n' "$*" >&2
  exit 1
}

# enroot_subst FILE: FILE with every ${NAME} replaced by the host's value
# (common::envsubst).
enroot_subst() {
  local line out name whole
  [ -f "$1" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    out=""
    while [[ $line =~ \$\{([A-Za-z_][A-Za-z0-9_]*)\} ]]; do
      whole=${BASH_REMATCH[0]}
      name=${BASH_REMATCH[1]}
      out+=${line%%"$whole"*}${!name-}
      line=${line#*"$whole"}
    done
    printf '%s\n' "$out$line"
  done <"$1"
}

# enroot_env_line LINE: the line as common::envfmt keeps it (leading blanks
# dropped, comments, malformed and ENROOT_ lines removed, one pair of
# surrounding quotes stripped); fails for a dropped line.
enroot_env_line() {
  local l=$1
  l=${l#"${l%%[![:space:]]*}"}
  [[ -n $l && $l != \#* && $l =~ ^[A-Za-z_][A-Za-z0-9_]*= && $l != ENROOT_* ]] || return 1
  if [[ $l =~ ^([A-Za-z_][A-Za-z0-9_]*)=[\"\'](.*)[\"\'][[:space:]]*$ ]]; then
    l=${BASH_REMATCH[1]}=${BASH_REMATCH[2]}
  fi
  printf '%s\n' "$l"
}

# enroot_environment ROOT MOUNT_HOME(y|"") CONFIG_ENV_NAMES ENV_ARGS...: fill
# the array enroot_env with the container's environment as
# enroot-switchroot leaves it before /etc/rc runs: the environment is
# CLEARED, then the image's /etc/environment, environ.d/*.env (enroot's
# default 10-terminal.env: TERM), a configuration's environ() (pyxis
# --container-env: NAME=value for each set NAME), `start --env` (NAME takes
# the host's value, NAME=VALUE as given), the 10-home hook's HOME; then
# sys_login's defaults for what is still unset.
enroot_environment() {
  local root=$1 mount_home=$2 config_names=$3 line l n f home shell user path_default
  shift 3
  local -a lines=()
  mapfile -t lines < <(
    enroot_subst "$root/etc/environment"
    printf 'TERM=%s\n' "${TERM-}"
    for f in "$(enroot_config_path)"/environ.d/*.env; do
      [ -f "$f" ] && enroot_subst "$f"
    done
    for n in $config_names; do
      [ -n "${!n-}" ] && printf '%s=%s\n' "$n" "${!n}"
    done
    for n; do
      if [[ $n == *=* ]]; then printf '%s\n' "$n"; else printf '%s=%s\n' "$n" "${!n-}"; fi
    done
    [ -n "$mount_home" ] && printf 'HOME=%s\n' "${HOME:-$(standin_pw_field 6)}"
  )
  declare -gA enroot_envmap=()
  enroot_env_order=()
  for line in "${lines[@]}"; do
    l=$(enroot_env_line "$line") || continue
    n=${l%%=*}
    [ -n "${enroot_envmap[$n]+x}" ] || enroot_env_order+=("$n")
    enroot_envmap[$n]=${l#*=}
  done
  # sys_login: setenv(..., 0) for what the file did not set.
  home=$(standin_pw_field 6)
  shell=$(standin_pw_field 7)
  user=$(id -un)
  path_default=$(sed -n 's/^[[:space:]]*ENV_PATH[[:space:]]\+\(PATH=\)\{0,1\}//p' "$root/etc/login.defs" 2>/dev/null | tail -n 1)
  enroot_setdefault TERM dumb
  enroot_setdefault HOME "$home"
  enroot_setdefault SHELL "$shell"
  enroot_setdefault USER "$user"
  enroot_setdefault LOGNAME "$user"
  enroot_setdefault PATH "${path_default:-/usr/bin:/bin}"
  enroot_env=()
  for n in "${enroot_env_order[@]}"; do
    enroot_env+=("$n=${enroot_envmap[$n]}")
  done
}
# shellcheck disable=SC2034 # enroot_env is for the caller
enroot_setdefault() {
  if [ -z "${enroot_envmap[$1]+x}" ]; then
    enroot_envmap[$1]=$2
    enroot_env_order+=("$1")
  fi
}

# A mount option as enroot-mount recognizes one (so that "SRC DST ro" reads
# the third field as options).
enroot_is_mntopt() {
  local o
  IFS=, read -r -a _opts <<<"$1"
  for o in "${_opts[@]}"; do
    case $o in
      bind | rbind | ro | rw | nosuid | suid | nodev | dev | noexec | exec | nofail | silent | loud | private | rprivate | slave | rslave | shared | rshared | \
        unbindable | runbindable | remount | defaults | relatime | norelatime | noatime | atime | x-create=* | x-move | x-detach) ;;
      *) return 1 ;;
    esac
  done
}

# enroot_mount ROOT FSNAME DIR TYPE OPTS: one fstab entry, completed as
# enroot-mount completes it, applied with ch-run: adds -b SRC:DST to the
# array enroot_binds, creates the destination for x-create=, or prints
# enroot-mount's error and returns 1.
enroot_mount() {
  local root=$1 fsname=$2 dir=$3 type=$4 opts=$5 kind="" inside src
  if [ -n "$dir" ] && [ -z "$type" ] && [ -z "$opts" ] && enroot_is_mntopt "$dir"; then
    opts=$dir type=none dir=""
  fi
  if [ -n "$type" ] && [ -z "$opts" ] && enroot_is_mntopt "$type"; then
    opts=$type type=none
    [ "$dir" = none ] && dir=""
  fi
  if [ "$fsname" = tmpfs ]; then
    [ -z "$type" ] || [ "$type" = none ] && type=tmpfs
  else
    [ -n "$dir" ] || dir=$fsname
    if [ -z "$type" ] || [ "$type" = none ]; then
      type=none
      [ -n "$opts" ] || opts=rbind,x-create=auto
    fi
  fi
  if [ -z "$fsname" ] || [ -z "$dir" ] || [ -z "$type" ]; then
    echo "enroot-mount: invalid fstab entry: \"$fsname $dir $type $opts\"" >&2
    return 1
  fi
  local bind="" nofail=""
  case ",$opts," in *,bind,* | *,rbind,*) bind=1 ;; esac
  case ",$opts," in *,nofail,*) nofail=1 ;; esac
  src=$fsname
  [[ $src == /* || $type != none ]] || src=$PWD/$src
  case ",$opts," in
    *,x-create=file,*) kind="file" ;;
    *,x-create=dir,*) kind=dir ;;
    *,x-create=auto,*)
      if [ -z "$bind" ]; then kind=dir; elif [ -e "$src" ]; then
        if [ -d "$src" ]; then kind="dir"; else kind="file"; fi
      fi
      ;;
  esac
  if [ "$type" != none ]; then
    # Only binds and the tmpfs on /tmp (ch-run -t) can be copied with ch-run.
    if [ "$type" = tmpfs ] && [ "${dir%/}" = /tmp ]; then
      enroot_binds+=(-t)
      return 0
    fi
    [ -n "$nofail" ] && return 0
    standin_die "cannot mount a $type file system at $dir with ch-run"
  fi
  [ -n "$bind" ] || return 0
  if [[ " ${enroot_binds[*]} " == *" -t "* && $dir == /tmp/* ]]; then
    # Inside the private /tmp (a tmpfs): ch-run creates the destination there
    # itself, as enroot-mount creates it on enroot's tmpfs.
    inside=$dir
  elif [ -n "$kind" ]; then
    if ! inside=$(standin_mkpoint "$root" "$dir" "$kind"); then
      [ -n "$nofail" ] && return 0
      echo "enroot-mount: failed to create $([ "$kind" = file ] && echo file || echo directory): $root${dir}: Permission denied" >&2
      return 1
    fi
  elif standin_exists_in "$root" "$dir"; then
    inside=$dir
  else
    [ -n "$nofail" ] && return 0
    echo "enroot-mount: failed to mount: $fsname at $root${dir}: No such file or directory" >&2
    return 1
  fi
  if [ ! -e "$src" ]; then
    [ -n "$nofail" ] && return 0
    echo "enroot-mount: failed to mount: $fsname at $root${dir}: No such file or directory" >&2
    return 1
  fi
  enroot_binds+=(-b "$src:$inside")
}

# enroot_start_mounts ROOT MOUNT_HOME: the mounts of enroot's default
# configuration and hooks (ch-run itself binds /proc, /sys, /dev, /etc/hosts
# and /etc/resolv.conf): tmpfs /tmp, /etc/hostname and /etc/machine-id from
# the host (20-config.fstab), the home folder (10-home.sh) when MOUNT_HOME;
# and 10-shadow.sh's home folder inside the container (from /etc/skel).
enroot_start_mounts() {
  local root=$1 mount_home=$2 home
  home=$(standin_pw_field 6)
  enroot_mount "$root" tmpfs /tmp tmpfs x-create=dir,rw,nosuid,nodev,mode=755,slave || return 1
  enroot_mount "$root" /etc/hostname /etc/hostname none x-create=file,bind,ro,nosuid,nodev,noexec,private,nofail || return 1
  enroot_mount "$root" /etc/machine-id /etc/machine-id none x-create=file,bind,ro,nosuid,nodev,noexec,private,nofail,silent || return 1
  if [ ! -e "$root$home" ] && standin_mkpoint "$root" "$home" dir >/dev/null; then
    [ -d "$root/etc/skel" ] && cp -Lpr "$root/etc/skel/." "$root$home" 2>/dev/null
  fi
  if [ -n "$mount_home" ]; then
    enroot_mount "$root" "${HOME:-$home}" "${HOME:-$home}" none x-create=dir,bind,rw,nosuid || return 1
  fi
}

# enroot_workdir ROOT: where enroot-switchroot's login leaves the process:
# the home folder when it exists in the container, / otherwise (with
# login.defs' DEFAULT_HOME a warning, without it an error).
enroot_workdir() {
  local root=$1 home=${enroot_envmap[HOME]-}
  if [ -z "$home" ] || standin_exists_in "$root" "$home"; then
    printf '%s' "${home:-/}"
  elif grep -qE '^[[:space:]]*DEFAULT_HOME[[:space:]]+yes' "$root/etc/login.defs" 2>/dev/null; then
    echo "enroot-switchroot: failed to change directory: $home: No such file or directory" >&2
    printf '/'
  else
    echo "enroot-switchroot: failed to change directory: $home: No such file or directory" >&2
    return 1
  fi
}

# enroot_rc_command ROOT ARGS...: the command enroot-switchroot runs (sys_init):
# the user's shell (SHELL when it is executable in the container, else
# /bin/sh) as a login shell running /etc/rc with ARGS; without /etc/rc, ARGS
# directly. Fills the array enroot_cmd.
# shellcheck disable=SC2034 # enroot_cmd is for the caller
enroot_rc_command() {
  local root=$1 shell=${enroot_envmap[SHELL]-}
  shift
  if [ -z "$shell" ] || [ ! -x "$root$shell" ]; then shell=/bin/sh; fi
  local login=()
  enroot_on ENROOT_LOGIN_SHELL yes && login=(-l)
  if [ -e "$root/etc/rc" ]; then
    enroot_cmd=("$shell" "${login[@]}" /etc/rc "$@")
  elif [ $# -gt 0 ]; then
    # shellcheck disable=SC2016 # $@ is for the shell in the container
    enroot_cmd=("$shell" "${login[@]}" -c 'exec "$@"' "${shell##*/}" "$@")
  else
    enroot_cmd=("$shell" "${login[@]}")
  fi
}
