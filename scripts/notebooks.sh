#!/usr/bin/env bash
# The tslab notebooks in notebooks/: set-up and headless execution.
#
#   bash scripts/notebooks.sh install [--local-only]   build, link, register the tslab kernel
#   bash scripts/notebooks.sh execute [--inplace | --out DIR] [NOTEBOOK...]
#
# install:
#   1. builds the package (notebooks import the built dist/ as "peftlab");
#   2. links notebooks/node_modules/peftlab -> the project, so tslab's type checker (Node10 module
#      resolution, which ignores package.json "exports" and self-references) finds "peftlab";
#   3. registers the kernelspecs "tslab" (TypeScript) and "jslab" (JavaScript), started with this
#      project's node_modules/.bin/tslab, in .jupyter-local/share/jupyter (project-local, used by
#      `execute` and the tests) and — unless --local-only — in the user's Jupyter
#      (~/.local/share/jupyter), where JupyterLab and VS Code find it.
# execute: rebuilds dist/, then runs every notebook (or those given) top to bottom with nbclient
#   (scripts/execute-notebook.py, which numbers the cells as they run) and the project-local kernelspec, writing executed copies to --out DIR (default: a temp dir) or, with
#   --inplace, back into notebooks/ (how the committed outputs are made).
# Environment: PEFTLAB_PYTHON (default /usr/bin/python3, Debian's Jupyter), NOTEBOOK_TIMEOUT
#   (seconds per cell, default 600), PEFTLAB_SKIP_BUILD=1 (use dist/ as it is; both commands
#   rebuild it otherwise).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PEFTLAB_PYTHON:-/usr/bin/python3}"
[ -x "$python" ] || python="$(command -v python3)"
jupyter_local="$root/.jupyter-local"

die() { echo "notebooks.sh: $*" >&2; exit 2; }

# Notebooks import the built dist/: rebuild it unless PEFTLAB_SKIP_BUILD=1.
build() {
  [ "${PEFTLAB_SKIP_BUILD:-0}" = 1 ] && return
  echo "building dist/ (npx tsc -p .)"
  npx tsc -p . || [ -f dist/index.js ] || die "the build failed and there is no dist/index.js"
}

install_kernel() {
  local local_only=0
  for arg in "$@"; do
    case "$arg" in
      --local-only) local_only=1 ;;
      *) die "install: unknown option '$arg' (expected --local-only)" ;;
    esac
  done
  [ -x node_modules/.bin/tslab ] || die "node_modules/.bin/tslab is missing: run 'npm ci' first"
  build
  mkdir -p notebooks/node_modules
  ln -sfn ../.. notebooks/node_modules/peftlab
  "$python" -c "import jupyter_client" 2>/dev/null \
    || die "$python has no jupyter_client: install Jupyter (bash scripts/ensure-system-deps.sh) or set PEFTLAB_PYTHON"
  node_modules/.bin/tslab install --python="$python" --binary="$root/node_modules/.bin/tslab" --prefix="$jupyter_local" >/dev/null
  echo "registered kernels tslab, jslab in $jupyter_local/share/jupyter/kernels"
  if [ "$local_only" = 0 ]; then
    node_modules/.bin/tslab install --python="$python" --binary="$root/node_modules/.bin/tslab" --user >/dev/null
    echo "registered kernels tslab, jslab for $(whoami) ($("$python" -c 'from jupyter_core.paths import jupyter_data_dir; print(jupyter_data_dir())')/kernels)"
  fi
}

execute() {
  local out="" inplace=0 files=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --inplace) inplace=1 ;;
      --out) shift; out="${1:?--out needs a directory}" ;;
      -*) die "execute: unknown option '$1' (expected --inplace or --out DIR)" ;;
      *) files+=("$1") ;;
    esac
    shift
  done
  [ -f "$jupyter_local/share/jupyter/kernels/tslab/kernel.json" ] || die "no project-local tslab kernel: run 'bash scripts/notebooks.sh install' first"
  "$python" -c "import nbclient, nbformat" 2>/dev/null \
    || die "$python has no nbclient: install Jupyter (bash scripts/ensure-system-deps.sh) or set PEFTLAB_PYTHON"
  [ ${#files[@]} -gt 0 ] || files=(notebooks/*.ipynb)
  build
  if [ "$inplace" = 0 ]; then
    out="${out:-$(mktemp -d)}"
    mkdir -p "$out"
  fi
  for nb in "${files[@]}"; do
    local t0=$SECONDS dest="$nb"
    [ "$inplace" = 1 ] || dest="$out/$(basename "$nb")"
    # nbclient numbers the cells as they run (In [1], In [2], …); the kernel starts in the notebook's folder.
    JUPYTER_PATH="$jupyter_local/share/jupyter" "$python" "$root/scripts/execute-notebook.py" "$nb" "$dest" tslab "${NOTEBOOK_TIMEOUT:-600}"
    echo "executed $nb in $((SECONDS - t0)) s${out:+ -> $out}"
  done
}

case "${1:-}" in
  install) shift; install_kernel "$@" ;;
  execute) shift; execute "$@" ;;
  *) die "usage: bash scripts/notebooks.sh install [--local-only] | execute [--inplace | --out DIR] [NOTEBOOK...]" ;;
esac
