"""The ``twinlab`` command: ``twinlab demo``, ``twinlab --version``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from twinlab._version import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twinlab", description="Hyper-personalised digital twins in JAX.")
    parser.add_argument("--version", action="version", version=f"twinlab {__version__}")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser(
        "demo",
        help="simulate the 30 virtual patients for a day under the basal-bolus baseline; print metrics, write a plot",
    )
    demo.add_argument("--out", default="out", help="folder for the plot and the metrics table (default: out)")
    demo.add_argument("--days", type=int, default=1, help="simulated days (default: 1)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the CGM sensor noise (default: 0)")
    demo.add_argument("--no-sensor-noise", action="store_true", help="controller sees the true glucose")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twinlab`` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from twinlab._demo import run_demo

        if args.days < 1:
            parser.error(f"--days must be at least 1; got {args.days}")
        run_demo(out=args.out, days=args.days, seed=args.seed, sensor_noise=not args.no_sensor_noise)
        return 0
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
