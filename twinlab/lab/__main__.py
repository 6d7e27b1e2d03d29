"""``python -m twinlab.lab students SOURCE TARGET``: students' copies of the teaching notebooks (no solutions)."""

from __future__ import annotations

import argparse
import sys

from twinlab.lab._teaching import write_student_copies


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m twinlab.lab")
    sub = parser.add_subparsers(dest="command", required=True)
    students = sub.add_parser("students", help="write students' copies (cells tagged 'solution' removed)")
    students.add_argument("source", help="the folder of teaching notebooks, e.g. notebooks/teaching")
    students.add_argument("target", help="where to write the copies")
    args = parser.parse_args(argv)
    for path in write_student_copies(args.source, args.target):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
