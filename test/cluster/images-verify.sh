#!/usr/bin/env bash
# Proves that what images.sh made works, as the unprivileged test user (alice)
# would use it: every file of the manifest in its format, the registry over TLS
# with the test CA (skopeo, curl, Node; nothing verify-disabling), and each
# image run with Charliecloud's ch-run (a real, unprivileged runtime): the
# .sif's SquashFS (squashfuse at its offset, and unsquashfs), the enroot
# .sqsh, ch-convert's SquashFS and directory. Inside: python3, `jupyter server
# --version` (only in jupyter), the marker (not on the host), the image's ENV,
# and a Jupyter server that answers HTTP on a loopback port.
#
# Usage: sudo bash test/cluster/images-verify.sh     (~30 s; prints ok/FAIL lines)
# Env:   as images.sh (HPCJOB_IMAGES_DIR, HPCJOB_IMAGES_USER)
set -euo pipefail
ME=images-verify.sh
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/cluster/images-lib.sh
source "$HERE/images-lib.sh"

need_root_debian "it runs each check as the test user through runuser"
need_cmds jq ch-run squashfuse fusermount3 unsquashfs siftool skopeo curl node runuser setsid ss
[[ -s $MANIFEST_JSON ]] || die "no $MANIFEST_JSON: run sudo bash test/cluster/images.sh first"
id "$IMAGES_USER" >/dev/null 2>&1 || die "no user $IMAGES_USER: run sudo bash test/cluster/start.sh first"
USER_HOME=$(getent passwd "$IMAGES_USER" | cut -d: -f6)

M=$(cat "$MANIFEST_JSON")
mj() { jq -r "$1" <<<"$M"; }
MARKER_TEXT=$(mj .marker.text)
MARKER_FILE=$(mj .marker.file)
CA=$(mj .registry.caCert)
BUNDLE=$(mj .registry.caBundle)
URL=$(mj .registry.url)

# as_user CMD...: run as the test user with a small, clean environment (the
# host's PATH has no /opt/hpcjob/bin, so the marker command is found only
# when the image's ENV applies).
as_user() {
  runuser -u "$IMAGES_USER" -- env -i PATH=/usr/bin:/bin HOME="$USER_HOME" USER="$IMAGES_USER" \
    LOGNAME="$IMAGES_USER" LANG=C.UTF-8 "$@"
}

SCRATCH=$(mktemp -d /tmp/hpcjob-images-verify.XXXXXX)
chown "$IMAGES_USER:" "$SCRATCH"
MOUNTS=()
PGIDS=()
cleanup() {
  local m g
  for g in "${PGIDS[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
  for m in "${MOUNTS[@]}"; do fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

PASS=0
FAIL=0
ok() {
  PASS=$((PASS + 1))
  echo "ok   $*"
}
bad() {
  FAIL=$((FAIL + 1))
  echo "FAIL $*"
}
# expect DESC WANT CMD...: CMD's output (stdout+stderr, trimmed) equals WANT.
expect() {
  local desc=$1 want=$2 out
  shift 2
  out=$("$@" 2>&1) || true
  if [[ $out == "$want" ]]; then ok "$desc"; else bad "$desc: want '$want', got: ${out:0:600}"; fi
}
# expect_match DESC REGEX CMD...: CMD succeeds and its output matches REGEX.
expect_match() {
  local desc=$1 re=$2 out
  shift 2
  if out=$("$@" 2>&1) && [[ $out =~ $re ]]; then ok "$desc"; else bad "$desc: want /$re/, got: ${out:0:600}"; fi
}
# expect_fail DESC REGEX CMD...: CMD fails and its output matches REGEX.
expect_fail() {
  local desc=$1 re=$2 out
  shift 2
  if out=$("$@" 2>&1); then bad "$desc: succeeded: ${out:0:300}"; elif [[ $out =~ $re ]]; then ok "$desc"; else bad "$desc: want /$re/, got: ${out:0:600}"; fi
}

# free_port: a TCP port nobody listens on.
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    ss -Htln "sport = :$p" | grep -q . || {
      echo "$p"
      return
    }
  done
  die "no free port"
}

# jupyter_answers DESC CH-RUN-ARGS...: start `jupyter server` in ch-run as the
# user (own process group), expect 200 with the token and 403 without, stop it
# by signalling the group (ch-run's parent serves FUSE; killing it alone
# leaves the payload running).
jupyter_answers() {
  local desc=$1 port token pgid code1=x code2=x t0 took
  shift
  port=$(free_port)
  token=verify$RANDOM$RANDOM
  as_user setsid bash -c 'echo $$ >"$0"; exec "$@"' "$SCRATCH/jupyter.pgid" \
    ch-run --home "$@" -- jupyter server --no-browser --ip=127.0.0.1 --port="$port" \
    --ServerApp.port_retries=0 --ServerApp.token="$token" >"$SCRATCH/jupyter.log" 2>&1 &
  t0=${EPOCHREALTIME/,/.}
  for _ in $(seq 100); do
    [[ -s $SCRATCH/jupyter.pgid ]] && break
    sleep 0.1
  done
  pgid=$(cat "$SCRATCH/jupyter.pgid" 2>/dev/null || true)
  [[ -n $pgid ]] && PGIDS+=("$pgid")
  for _ in $(seq 300); do
    code1=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/api/status?token=$token" || true)
    [[ $code1 == 200 ]] && break
    sleep 0.1
  done
  took=$(awk -v a="$t0" -v b="${EPOCHREALTIME/,/.}" 'BEGIN{printf "%.1f", b-a}')
  code2=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/api/status" || true)
  if [[ $code1 == 200 && $code2 == 403 ]]; then
    ok "$desc: Jupyter answers on 127.0.0.1:$port after $took s (200 with the token, 403 without)"
  else
    bad "$desc: Jupyter on 127.0.0.1:$port: $code1 with token, $code2 without; log: $(tail -c 800 "$SCRATCH/jupyter.log")"
  fi
  if [[ -n $pgid ]]; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 100); do
      pgrep -g "$pgid" >/dev/null || break
      sleep 0.1
    done
    if pgrep -g "$pgid" >/dev/null; then
      bad "$desc: processes of group $pgid still there 10 s after SIGTERM"
      kill -KILL -- "-$pgid" 2>/dev/null || true
    elif ss -Htln "sport = :$port" | grep -q .; then
      bad "$desc: port $port still taken after stopping the group"
    else
      ok "$desc: SIGTERM to the process group stopped ch-run and Jupyter"
    fi
  fi
  wait 2>/dev/null || true
  rm -f "$SCRATCH/jupyter.pgid"
}

# check_image DESC NAME ENV-ARG CH-RUN-ARGS...: the marker, python3, the
# image's ENV, jupyter or its absence, in one image run with ch-run. ENV-ARG:
# the ch-run option that applies the image's ENV, or - (checked otherwise).
check_image() {
  local desc=$1 name=$2 envargs=$3
  shift 3
  expect "$desc: marker file inside" "$MARKER_TEXT" as_user ch-run "$@" -- cat "$MARKER_FILE"
  expect "$desc: python3 runs" "3 $name" as_user ch-run "$@" -- python3 -c "import sys; print(sys.version_info[0], '$name')"
  # shellcheck disable=SC2086 # envargs: zero or one word
  [[ $envargs == - ]] || expect "$desc: image ENV applies (PATH finds the marker command, HPCJOB_TEST_IMAGE=$name)" \
    "$MARKER_TEXT|$name|set by the image's ENV" \
    as_user ch-run $envargs "$@" -- sh -c 'printf "%s|%s|%s" "$(hpcjob-image-marker)" "$HPCJOB_TEST_IMAGE" "$HPCJOB_TEST_IMAGE_NOTE"'
  expect "$desc: without the image ENV, the host's (no HPCJOB_TEST_IMAGE)" "unset" \
    as_user ch-run "$@" -- sh -c 'echo "${HPCJOB_TEST_IMAGE:-unset}"'
  if [[ $name == jupyter ]]; then
    expect_match "$desc: jupyter server --version" '^1\.[0-9]+\.[0-9]+$' as_user ch-run "$@" -- jupyter server --version
  else
    expect_fail "$desc: no jupyter in nojupyter" 'jupyter' as_user ch-run "$@" -- jupyter server --version
    expect_fail "$desc: no jupyter_server module in nojupyter" 'ModuleNotFoundError' as_user ch-run "$@" -- python3 -c 'import jupyter_server'
  fi
}

echo "== manifest $MANIFEST_JSON (recipe $(mj .recipe))"
for f in $(mj '.images[] | .dockerArchive, .sif, .enrootSqsh, .charliecloudSqfs, .config') "$CA" "$BUNDLE"; do
  if as_user test -r "$f"; then ok "$IMAGES_USER can read $f"; else bad "$IMAGES_USER cannot read $f"; fi
done
for d in $(mj '.images[] | .oci.layout, .charliecloudDir'); do
  if as_user test -r "$d" -a -x "$d"; then ok "$IMAGES_USER can read $d/"; else bad "$IMAGES_USER cannot read $d/"; fi
done
if [[ ! -e $MARKER_FILE ]] && ! command -v hpcjob-image-marker >/dev/null; then
  ok "the marker is not on the host ($MARKER_FILE, hpcjob-image-marker)"
else
  bad "the host has $MARKER_FILE or hpcjob-image-marker: the marker proves nothing"
fi

echo "== registry $URL (CA $CA)"
expect_match "curl --cacert: GET /v2/" '^200$' as_user curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" "$URL/v2/"
expect_fail "curl without the CA fails verification" 'certificate' as_user curl -sS -o /dev/null "$URL/v2/"
for name in jupyter nojupyter; do
  ref=$(mj ".images.$name.ref")
  digest=$(mj ".images.$name.digest")
  # skopeo trusts the CA through /etc/containers/certs.d/HOST:PORT/ca.crt.
  expect "skopeo inspect docker://$ref (as $IMAGES_USER): digest" "$digest" \
    as_user skopeo inspect --format '{{.Digest}}' "docker://$ref"
  expect "Node fetch HEAD manifests (NODE_EXTRA_CA_CERTS=$BUNDLE): 200 and the digest" "200 $digest" \
    as_user NODE_EXTRA_CA_CERTS="$BUNDLE" node -e '
      const [url, repo, tag] = process.argv.slice(1);
      fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: "HEAD", headers: { Accept: [
        "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json"].join(", ") } })
        .then((r) => console.log(r.status, r.headers.get("docker-content-digest")), (e) => console.log("error", e.cause?.code ?? e.message));
    ' "$URL" "$(mj ".images.$name.repository")" 1
done
expect_match "Node without the test CA refuses the registry" 'error (UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)' \
  as_user NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt node -e '
    fetch(process.argv[1] + "/v2/").then((r) => console.log("status", r.status), (e) => console.log("error", e.cause?.code ?? e.message));' "$URL"
expect "$(mj .moving.ref) names nojupyter's manifest" "$(mj .images.nojupyter.digest)" \
  as_user skopeo inspect --format '{{.Digest}}' "docker://$(mj .moving.ref)"

echo "== file formats"
for name in jupyter nojupyter; do
  sif=$(mj ".images.$name.sif")
  off=$(mj ".images.$name.sifSquashfsOffset")
  sqsh=$(mj ".images.$name.enrootSqsh")
  tar=$(mj ".images.$name.dockerArchive")
  expect "$name.sif: SIF launch script and magic" "#!/usr/bin/env run-singularity|SIF_MAGIC" \
    sh -c "printf '%s|%s' \"\$(head -c 31 '$sif')\" \"\$(dd if='$sif' bs=1 skip=32 count=9 status=none)\""
  expect "$name.sif: descriptors as apptainer build writes them" \
    "Def.FILE|JSON.Generic|JSON.Generic|FS (Squashfs/*System/$(dpkg --print-architecture))" \
    sh -c "siftool list '$sif' | awk -F'|' 'NR>3 && NF>4 {gsub(/^ +| +\$/, \"\", \$5); printf \"%s%s\", s, \$5; s=\"|\"}'"
  expect "$name.sif: SquashFS at offset $off" "hsqs" dd if="$sif" bs=1 skip="$off" count=4 status=none
  expect_match "$name.sif: /.singularity.d/env/10-docker2singularity.sh has the image ENV" \
    "export HPCJOB_TEST_IMAGE=\"\\$\\{HPCJOB_TEST_IMAGE:-\"$name\"\\}\"" \
    unsquashfs -o "$off" -cat "$sif" .singularity.d/env/10-docker2singularity.sh
  expect "$name.sqsh: SquashFS, lzo, all files root's" "hsqs|lzo|root/root" sh -c \
    "printf '%s|%s|%s' \"\$(head -c 4 '$sqsh')\" \"\$(unsquashfs -s '$sqsh' | sed -n 's/^Compression //p')\" \"\$(unsquashfs -lls '$sqsh' | awk 'NR>3 {print \$2}' | sort -u | tr '\n' ' ' | sed 's/ \$//')\""
  expect "$name.sqsh: /etc/environment is the image's ENV" "$(mj ".images.$name.env | join(\"\n\")")" \
    unsquashfs -cat "$sqsh" etc/environment
  expect_match "$name.sqsh: /etc/rc as enroot writes it" "^# enroot-provenance: docker://$REGISTRY#lab/$name:1" \
    unsquashfs -cat "$sqsh" etc/rc
  expect_match "$name.tar: docker-archive (manifest.json, RepoTags [docker.io/]lab/$name:1)" "^(docker\.io/)?lab/$name:1\$" \
    sh -c "tar -xOf '$tar' manifest.json | jq -r '.[0].RepoTags[0]'"
  expect "$name.tar: same image as the registry's (config digest)" \
    "$(as_user skopeo inspect --raw "docker://$(mj ".images.$name.ref")" | jq -r .config.digest)" \
    sh -c "skopeo inspect --raw 'docker-archive:$tar' | jq -r .config.digest"
  expect "$name OCI layout: same config digest" \
    "$(as_user skopeo inspect --raw "docker://$(mj ".images.$name.ref")" | jq -r .config.digest)" \
    sh -c "skopeo inspect --raw '$(mj ".images.$name.oci.ref")' | jq -r .config.digest"
done

for name in jupyter nojupyter; do
  echo "== $name, run with ch-run as $IMAGES_USER"
  sif=$(mj ".images.$name.sif")
  off=$(mj ".images.$name.sifSquashfsOffset")
  sqsh=$(mj ".images.$name.enrootSqsh")
  chsq=$(mj ".images.$name.charliecloudSqfs")
  chdir=$(mj ".images.$name.charliecloudDir")

  # ch-convert's outputs: /ch/environment holds the ENV (--set-env, no file).
  check_image "$name.ch.sqfs (ch-convert)" "$name" --set-env "$chsq"
  check_image "$name.ch/ (ch-convert dir)" "$name" --set-env "$chdir"

  # enroot's .sqsh: the ENV is its /etc/environment, applied as enroot does
  # (ch-run reads --set-env FILE on the host, so take it out first).
  as_user sh -c "unsquashfs -cat '$sqsh' etc/environment >'$SCRATCH/$name.environment'"
  check_image "$name.sqsh (enroot)" "$name" "--set-env=$SCRATCH/$name.environment" "$sqsh"
  expect "$name.sqsh: /etc/rc runs a command as enroot start does" "$MARKER_TEXT" \
    as_user ch-run "--set-env=$SCRATCH/$name.environment" "$sqsh" -- /bin/sh /etc/rc hpcjob-image-marker

  # The .sif: ch-run cannot open a SIF (it mounts a SquashFS at offset 0), so
  # (a) squashfuse mounts the partition at its offset, as the user (fusermount3
  # is setuid), and ch-run runs the mount point as a directory image; the
  # image's ENV applies through Apptainer's own /.singularity.d/actions/exec,
  # which sources /.singularity.d/env/*.sh.
  mnt=$SCRATCH/$name.sif.mnt
  as_user mkdir "$mnt"
  if as_user squashfuse -o "offset=$off" "$sif" "$mnt"; then
    MOUNTS+=("$mnt")
    ok "$name.sif: squashfuse -o offset=$off mounts it as $IMAGES_USER"
    check_image "$name.sif (squashfuse mount)" "$name" - "$mnt"
    expect "$name.sif: ENV through /.singularity.d/actions/exec" "$MARKER_TEXT|$name" \
      as_user ch-run "$mnt" -- /.singularity.d/actions/exec sh -c 'printf "%s|%s" "$(hpcjob-image-marker)" "$HPCJOB_TEST_IMAGE"'
    expect "$name.sif: runscript runs the image's CMD with arguments replaced" "$MARKER_TEXT" \
      as_user ch-run "$mnt" -- /.singularity.d/actions/run hpcjob-image-marker
    if [[ $name == jupyter ]]; then
      jupyter_answers "$name.sif (squashfuse mount)" "$mnt"
    fi
    as_user fusermount3 -u "$mnt" && MOUNTS=("${MOUNTS[@]/$mnt/}")
  else
    bad "$name.sif: squashfuse -o offset=$off failed as $IMAGES_USER"
  fi
  # (b) unsquashfs at the offset into a directory the user owns.
  if as_user unsquashfs -q -n -o "$off" -d "$SCRATCH/$name.sif.dir" "$sif" >/dev/null 2>&1; then
    ok "$name.sif: unsquashfs -o $off extracts it as $IMAGES_USER"
    expect "$name.sif (unsquashfs dir): ENV through /.singularity.d/actions/exec" "$MARKER_TEXT|$name" \
      as_user ch-run "$SCRATCH/$name.sif.dir" -- /.singularity.d/actions/exec sh -c 'printf "%s|%s" "$(hpcjob-image-marker)" "$HPCJOB_TEST_IMAGE"'
    rm -rf "$SCRATCH/$name.sif.dir"
  else
    bad "$name.sif: unsquashfs -o $off failed as $IMAGES_USER"
  fi

  if [[ $name == jupyter ]]; then
    jupyter_answers "$name.ch.sqfs (ch-run --set-env)" --set-env "$chsq"
  fi
done

echo "== $PASS passed, $FAIL failed"
[[ $FAIL -eq 0 ]]
