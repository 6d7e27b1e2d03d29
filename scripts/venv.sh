# Sourced by the scripts: makes ./.venv with Python >= 3.11 and installs twinlab into it (editable).
install_twinlab() {
  local target="$1" py="${PYTHON:-python3}"
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "twinlab needs Python >= 3.11; '$py' is $("$py" --version 2>&1). Set PYTHON=/path/to/python3.11." >&2
    exit 1
  fi
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e "$target"
}

# Debian's Chromium for the browser tests (Playwright drives it through executable_path; it never downloads a
# browser) and Node.js/npm for the TypeScript builds. Installed with apt when missing and we are root.
install_system_tools() {
  local need=()
  command -v chromium >/dev/null || need+=(chromium)
  command -v npm >/dev/null || need+=(nodejs npm)
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != "0" ]; then
    echo "missing ${need[*]}: install them (sudo apt-get install ${need[*]}) and rerun" >&2
    exit 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}

# Builds the JupyterLab extension (extensions/jupyterlab, @jupyter/builder) into twinlab/labextension from the
# locked npm dependencies. pip's build hook does the same when the output is stale, but only warns on failure in an
# editable install; this fails loudly, as CI must.
build_labextension() {
  (cd extensions/jupyterlab && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build:prod)
  test -f twinlab/labextension/package.json || { echo "the JupyterLab extension did not build" >&2; exit 1; }
}

# The widgets' JavaScript: TypeScript in extensions/widgets bundled by esbuild into twinlab/ui/static (the wheel build
# runs the same through hatch-jupyter-builder).
build_widgets() {
  (cd extensions/widgets && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
}

# The widgets' JavaScript unit tests (vitest, in Node).
test_widgets() {
  (cd extensions/widgets && npm test --silent)
}

# The benchmark-only peer of benchmarks/bench_traffic.py: torch-geometric-temporal's T-GCN on CPU PyTorch. PyPI ships
# torch-scatter and torch-sparse as sources only: they compile against the installed torch (minutes). The package
# itself goes in without its declared dependencies, which pin an old `decorator` that T-GCN does not use.
install_traffic_peer() {
  install_twinlab ".[gnn,peers-traffic]"
  MAX_JOBS=2 .venv/bin/python -m pip install --quiet --no-build-isolation "torch-scatter==2.1.2" "torch-sparse==0.6.18"
  .venv/bin/python -m pip install --quiet --no-deps "torch-geometric-temporal==0.56.2"
}
