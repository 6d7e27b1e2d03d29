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
