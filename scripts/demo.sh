#!/usr/bin/env bash
# Installs twinlab into ./.venv and runs the main job: the 30 virtual patients for a day under the basal-bolus
# baseline, a metrics table on the terminal and a plot in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
install_twinlab "."
.venv/bin/twinlab demo --out out "$@"
