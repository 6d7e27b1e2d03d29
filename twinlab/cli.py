"""The ``twinlab`` command: ``twinlab demo``, ``twinlab serve APP``, ``twinlab data``, ``twinlab --version``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from twinlab._serve import ServeOptions
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
    serve = sub.add_parser(
        "serve",
        help="serve a Panel app (a script or notebook) with secure defaults: localhost only unless authenticated",
        description="Serve APP with panel serve: 127.0.0.1 by default; any other address needs --basic-auth or "
        "--oauth-provider; a random cookie secret per run; websocket connections only from the address served.",
    )
    serve.add_argument("app", help="a .py script or .ipynb notebook that marks its dashboard .servable()")
    serve.add_argument("--address", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5006, help="TCP port (default: 5006)")
    serve.add_argument("--basic-auth", metavar="FILE", help="JSON file of {user: password} for basic authentication")
    serve.add_argument("--oauth-provider", help="OAuth provider known to Panel (github, google, azure, generic, ...)")
    serve.add_argument("--oauth-key", help="OAuth client id (the secret is read from PANEL_OAUTH_SECRET)")
    serve.add_argument("--oauth-redirect-uri", help="redirect URI registered with the OAuth provider")
    serve.add_argument("--ssl-certfile", help="TLS certificate (PEM) for HTTPS")
    serve.add_argument("--ssl-keyfile", help="TLS private key (PEM) for HTTPS")
    serve.add_argument(
        "--allow-websocket-origin",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="another websocket origin to allow (a reverse proxy's public host:port); repeatable",
    )
    serve.add_argument("--show", action="store_true", help="open the app in a browser")
    data = sub.add_parser(
        "data",
        help="list the real data sets' files in the cache ($TWINLAB_DATA_DIR), verified; --download fetches those "
        "with a download address",
    )
    data.add_argument("names", nargs="*", help="data sets (default: all registered)")
    data.add_argument("--download", action="store_true", help="download missing files that have an address")
    return parser


def serve_options(args: argparse.Namespace) -> ServeOptions:
    """The `ServeOptions` of parsed ``twinlab serve`` arguments."""
    from pathlib import Path

    def path(v: str | None) -> Path | None:
        return None if v is None else Path(v)

    return ServeOptions(
        app=Path(args.app), address=args.address, port=args.port, basic_auth=path(args.basic_auth),
        oauth_provider=args.oauth_provider, oauth_key=args.oauth_key, oauth_redirect_uri=args.oauth_redirect_uri,
        ssl_certfile=path(args.ssl_certfile), ssl_keyfile=path(args.ssl_keyfile),
        extra_origins=tuple(args.allow_websocket_origin), show=args.show,
    )  # fmt: skip


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
    if args.command == "serve":
        from twinlab._serve import ServeError, serve

        try:
            serve(serve_options(args))
        except ServeError as err:
            parser.error(str(err))
        return 0
    if args.command == "data":
        from twinlab import datasets

        unknown = [n for n in args.names if n not in datasets.DATASETS]
        if unknown:
            parser.error(f"unknown data sets {unknown}; registered: {', '.join(sorted(datasets.DATASETS))}")
        rows = datasets.status(args.names or None, download=args.download)
        for name, filename, state, detail in rows:
            print(f"{state:<10} {name}/{filename}: {detail}")
        return 0 if all(state in ("ok", "downloaded") for *_, state, _ in rows) else 1
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
