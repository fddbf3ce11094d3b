#!/bin/sh
# Fetches the ImageNet InceptionV3 that npm package nsfwjs@4.4.0 ships (a Keras TF.js layers model whose layers up
# to mixed5 are frozen ImageNet weights) into DEST/inception_v3, for 'efficientad distill --backbone nsfwjs:...'.
# Needs npm (Debian package 'npm'); npm checks the package's integrity hash. Prints the folder.
set -eu
dest=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/efficientad/nsfwjs-4.4.0}
if [ -f "$dest/inception_v3/model.min.js" ] && [ -f "$dest/inception_v3/group1-shard6of6.min.js" ]; then
  echo "$dest/inception_v3"
  exit 0
fi
command -v npm >/dev/null || { echo "npm not found: sudo apt-get install npm" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent nsfwjs@4.4.0 >/dev/null)
tar -xzf "$work"/nsfwjs-4.4.0.tgz -C "$work" package/dist/models/inception_v3
mkdir -p "$dest"
rm -rf "$dest/inception_v3.partial"
mv "$work/package/dist/models/inception_v3" "$dest/inception_v3.partial"
rm -rf "$dest/inception_v3"  # an incomplete earlier copy
mv "$dest/inception_v3.partial" "$dest/inception_v3"
echo "$dest/inception_v3"
