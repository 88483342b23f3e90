#!/usr/bin/env bash
# Installs the Debian packages peftlab's tests use, when missing. Idempotent; needs root (as in CI).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c "import torch, numpy" >/dev/null 2>&1 || need+=(python3-torch python3-numpy)
# The PyTorch reference of the benchmarks: with --no-install-recommends, Debian's torch would call the
# slow reference (netlib) BLAS; OpenBLAS (recommended by python3-torch) takes over libblas.so.3.
[ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] || [ "$(uname -m)" != x86_64 ] || need+=(libopenblas0-pthread)
command -v jupyter-nbconvert >/dev/null 2>&1 || need+=(jupyter-nbconvert python3-nbclient python3-ipykernel)
# A C compiler: `npm ci` builds the native kernels (scripts/build-native.js) with it.
command -v gcc >/dev/null 2>&1 || command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
# The job-queue tests (peftlab run --queue / peftlab worker) start their own Redis.
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
