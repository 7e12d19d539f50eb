#!/usr/bin/env bash
# Install the Debian packages needed for the single-machine Slurm test cluster
# (see README.md in this folder). Safe to run again: packages already present
# are left alone and nothing is downloaded when everything is installed.
#
# Usage: sudo bash test/cluster/install.sh    (must run as root)
set -euo pipefail

PACKAGES=(
  slurm-wlm        # slurmctld + slurmd + slurm-client (sbatch, squeue, ...)
  slurmdbd         # accounting: sacct, sacctmgr associations, AccountingStorageEnforce
  mariadb-server   # slurmdbd's database (start.sh runs one of its own on 127.0.0.1:3307)
  munge            # authentication for Slurm (munged, munge, unmunge, mungekey)
  openssh-server   # the "login node" (test sshd on 127.0.0.1:2222)
  openssh-client   # ssh, ssh-keygen, ssh-keyscan
  jupyter-core     # /usr/bin/jupyter, the subcommand dispatcher: without it
                   # `jupyter server` is "command not found" (only
                   # /usr/bin/jupyter-server exists)
  jupyter-server   # `jupyter server` (jupyter-server 1.23 on Debian 12)
  python3-notebook # notebook 6.4 library + ipykernel (python3 kernel)
  jupyter-notebook # /usr/bin/jupyter-notebook, so `jupyter notebook` works too
  shellcheck
  hyperfine
  curl
  passwd           # useradd / usermod
  util-linux       # runuser
  procps           # pgrep / ps used by the scripts
  iproute2         # ss, to check who listens on a port
  tmux             # a real terminal for init's questions (test/e2e/init.e2e.test.ts)
  # Real images and a real registry (images.sh, registry.sh; see README.md):
  debootstrap      # the images' Debian root filesystems (bookworm, minbase)
  debian-archive-keyring # so debootstrap can check the mirror's signatures
  openssl          # the test CA and the registry's certificate
  umoci            # rootfs -> OCI image (layout), unpack with whiteouts
  skopeo           # OCI layout <-> docker-archive <-> registry
  squashfs-tools   # mksquashfs/unsquashfs: .sif partition, enroot .sqsh
  squashfuse       # mount a SquashFS (or a SIF's, at an offset) with FUSE
  fuse3            # fusermount3, so a non-root user can mount with FUSE
  siftool          # wraps the SquashFS in a real SIF file
  docker-registry  # Distribution registry 2.8 (TLS, 127.0.0.1)
  charliecloud-runtime   # ch-run: runs images unprivileged (user namespaces)
  charliecloud-builders  # ch-image (pull from the registry), ch-convert
  podman           # a second OCI tool (ch-convert can read its storage); the
                   # converter stand-ins' Docker daemon (docker-daemon:, dockerd://)
  # The converter stand-ins, `apptainer build` and `enroot import`
  # (test/standins/lib/apptainer-build.sh, enroot-import.sh), also use skopeo,
  # umoci, squashfs-tools, siftool, curl and podman from above, and:
  jq               # manifests, image configs, SIF labels (enroot's common::jq)
  zstd             # enroot's blob cache: each blob stored zstd-compressed
  python3          # /usr/bin/python3: the images' apptainer-meta.py, and
                   # enroot import's clean-up of umoci's user.* xattrs
  tar              # oci-archive: extracted as non-root; dockerd:// export
  gzip             # enroot's ENROOT_GZIP_PROGRAM: pigz when installed, else
                   # gzip (pigz is optional and not installed here)
)

if [[ $(id -u) -ne 0 ]]; then
  echo "install.sh: must run as root" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install.sh: all packages already installed"
  exit 0
fi

echo "install.sh: installing: ${missing[*]}"

# Without systemd as PID 1 the maintainer scripts would try to start munge,
# sshd (on port 22!) and the Slurm daemons through invoke-rc.d. start.sh starts
# what it needs by hand, so forbid that with a temporary policy-rc.d (unless the
# machine already has one, as Docker-style images do).
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\n# temporary, written by hpcjob test/cluster/install.sh\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  created_policy=1
fi
cleanup() {
  if [[ $created_policy -eq 1 ]]; then
    rm -f "$POLICY"
  fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine.
if ! apt-cache show slurm-wlm >/dev/null 2>&1 || [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1) ]]; then
  apt-get update
fi
apt-get install -y --no-install-recommends "${missing[@]}"

echo "install.sh: done"
