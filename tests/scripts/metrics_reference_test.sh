#!/bin/sh
# The engine's metrics on random cases against an independent computation (scikit-learn, scipy, numpy from
# Debian's python3-sklearn, a test-only dependency that .ci/install-deps installs).
#   metrics_reference_test.sh METRICS_DUMP METRICS_REFERENCE_PY
set -eu
work=$(mktemp -d "${TMPDIR:-/tmp}/efficientad-metrics-XXXXXX")
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 -c 'import sklearn, scipy' || { echo "FAIL: python3-sklearn is missing (sudo .ci/install-deps)"; exit 1; }
for seed in 1 2 3; do
  "$1" "$seed" "$work/cases" "$work/results"
  /usr/bin/python3 "$2" "$work/cases" "$work/results"
done
