#!/bin/bash
# The layered test image for hpcjob's own build of enroot and Charliecloud
# files from archives (test/e2e/layers.e2e.test.ts): the nojupyter test image
# (images.sh) with two more layers, written here by hand as a Dockerfile's
# RUN steps would leave them:
#   layer 2: /opt/hpcjob-layers/{kept,gone,opaque/old}, a read-only folder
#            /opt/hpcjob-layers/ro (0555) holding ro/first;
#   layer 3: whiteouts: .wh.gone, opaque/.wh..wh..opq (with opaque/new),
#            /etc/.wh.issue.net (a file of the base layer); ro/second, added
#            into the read-only folder; ENV HPCJOB_LAYERS=three.
# Out: docker-archive (docker save's format, plain layers) and oci-archive
# (gzip layers) files, and layers.json naming them, under
# $IMAGES_DIR/layers/KEY (KEY: this script and the base image's digest), made
# once and then reused; prints layers.json's path. Needs images.sh first.
# Usage: bash test/cluster/images-layers.sh (as root).
set -euo pipefail
ME=images-layers
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/cluster/images-lib.sh
source "$HERE/images-lib.sh"

[[ -f $MANIFEST_JSON ]] || die "$MANIFEST_JSON is missing: run bash test/cluster/images.sh first"
base=$(jq -r .images.nojupyter.dockerArchive "$MANIFEST_JSON")
key=$( (sha256sum <"${BASH_SOURCE[0]}"; jq -r .images.nojupyter.digest "$MANIFEST_JSON") | sha256sum | cut -c1-16)
out=$IMAGES_DIR/layers/$key
if [[ -f $out/layers.json ]]; then
  echo "$out/layers.json"
  exit 0
fi
mkdir -p "$IMAGES_DIR/layers"
work=$(mktemp -d "$IMAGES_DIR/layers/.tmp-XXXXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

skopeo copy -q "docker-archive:$base" oci:oci:base
# A layer from a folder, owned by root as an image's files are, fixed times.
layer() { # DIR OUT
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf "$2" .
}
mkdir -p l2/opt/hpcjob-layers/opaque l2/opt/hpcjob-layers/ro
echo "kept by layer 3" >l2/opt/hpcjob-layers/kept
echo "removed by a whiteout in layer 3" >l2/opt/hpcjob-layers/gone
echo "hidden by layer 3's opaque folder" >l2/opt/hpcjob-layers/opaque/old
echo "first, in a read-only folder" >l2/opt/hpcjob-layers/ro/first
chmod 0555 l2/opt/hpcjob-layers/ro
layer l2 layer2.tar
mkdir -p l3/opt/hpcjob-layers/opaque l3/opt/hpcjob-layers/ro l3/etc
touch l3/opt/hpcjob-layers/.wh.gone l3/opt/hpcjob-layers/opaque/.wh..wh..opq l3/etc/.wh.issue.net
echo "new in layer 3's opaque folder" >l3/opt/hpcjob-layers/opaque/new
echo "second, added to the read-only folder by layer 3" >l3/opt/hpcjob-layers/ro/second
chmod 0555 l3/opt/hpcjob-layers/ro
layer l3 layer3.tar
chmod -R u+w l2 l3

umoci raw add-layer --image oci:base --tag layers2 layer2.tar
umoci raw add-layer --image oci:layers2 --tag layers3 layer3.tar
umoci config --image oci:layers3 --tag layers --config.env HPCJOB_LAYERS=three
mkdir out
skopeo copy -q oci:oci:layers docker-archive:out/layers.tar:lab/layers:1
skopeo copy -q oci:oci:layers oci-archive:out/layers.oci.tar:layers
jq -n --arg d "$out" '{dockerArchive: ($d + "/layers.tar"), dockerArchiveTag: "docker.io/lab/layers:1", ociArchive: ($d + "/layers.oci.tar"), env: "HPCJOB_LAYERS=three"}' >out/layers.json
chmod -R a+rX out
rm -rf "$out"
mv out "$out"
echo "$out/layers.json"
