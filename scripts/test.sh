#!/usr/bin/env bash
# Installs twinlab with its test and dev tools into ./.venv, then runs every check CI runs:
# ruff (lint + format), mypy, the widgets' JavaScript tests (vitest), and pytest (fast and slow tiers, notebooks included).
# TWINLAB_TEST_FAST=1 skips the slow tier.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
install_system_tools
build_labextension
build_widgets
install_twinlab ".[dev]"
.venv/bin/ruff check twinlab tests benchmarks
.venv/bin/ruff format --check twinlab tests benchmarks
.venv/bin/mypy
test_widgets
marker=()
if [ "${TWINLAB_TEST_FAST:-0}" = "1" ]; then marker=(-m "not slow"); fi
.venv/bin/python -m pytest "${marker[@]}" "$@"
