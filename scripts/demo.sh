#!/usr/bin/env bash
# Installs twinlab into ./.venv and runs the main job: the 30 virtual patients for a day under the basal-bolus
# baseline (a metrics table on the terminal and a plot in out/), then serves the flagship dashboard on
# http://127.0.0.1:5006 until Ctrl-C. TWINLAB_NO_SERVE=1 stops after the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
install_twinlab ".[dashboards,data,bayes]"
.venv/bin/twinlab demo --out out "$@"
if [ "${TWINLAB_NO_SERVE:-0}" != "1" ]; then
  echo "Serving the glucose twin's dashboard on http://127.0.0.1:5006/glucose_dashboard (Ctrl-C stops it)"
  .venv/bin/twinlab serve apps/glucose_dashboard.py --address 127.0.0.1 --port 5006
fi
