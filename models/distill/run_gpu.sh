#!/bin/sh
# Distils teacher candidates side by side on one GPU (distill.py), for the device machine: everything it reads is
# in WORK (export_nsfwjs.js's backbone.json/.u8 and pack_images.py's imagenet.pack), results go to OUT.
# Usage: models/distill/run_gpu.sh WORK OUT SECONDS NAME:VARIANT:LAYERS:SCALE ...
# DISTILL_ARGS: further distill.py options for every candidate (e.g. "--draws 16 --batch 2" for a smoke test).
set -eu
work=$1 out=$2 seconds=$3
shift 3
here=$(dirname "$0")
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
pids=""
for candidate in "$@"; do
  IFS=: read -r name variant layers scale <<EOT
$candidate
EOT
  python3 "$here/distill.py" --export "$work" --images "$work/imagenet.pack" --variant "$variant" \
      --layers "$layers" --scale "$scale" ${INIT:+--init "$INIT"} --seconds "$seconds" --out "$out" --name "$name" ${DISTILL_ARGS:-} &
  pids="$pids $!"
done
status=0
for pid in $pids; do wait "$pid" || status=1; done
ls -la "$out"
exit $status
