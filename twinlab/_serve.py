"""``twinlab serve APP``: ``panel serve`` with secure defaults (no UI library is imported here).

The defaults, and why:

- it listens on 127.0.0.1 unless told otherwise, and refuses any other address without authentication (a
  basic-auth file or an OAuth provider): a twin shows a person's health data;
- it sets a fresh random cookie secret for every run (in the environment, not on the command line where other users
  of the machine could read it), unless ``PANEL_COOKIE_SECRET`` is already set;
- it allows websocket connections only from the address and port it serves, so another site open in the same
  browser cannot drive the app.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Addresses that only this machine can reach.
LOCAL_NAMES = ("localhost",)

MSG_NEEDS_AUTH = (
    "refusing to serve on {address}: that address is reachable from other machines and the app has no "
    "authentication. Fix: serve on 127.0.0.1 (the default) and reach it through an SSH tunnel, or pass "
    "--basic-auth FILE (a JSON file of user: password) or --oauth-provider NAME with --oauth-key and the "
    "PANEL_OAUTH_SECRET environment variable."
)


class ServeError(ValueError):
    """The ``twinlab serve`` arguments are unsafe or inconsistent; the message says how to fix them."""


@dataclass(frozen=True)
class ServeOptions:
    """What ``twinlab serve`` was asked for.

    Attributes:
        app: the app: a Python script or a notebook (.py or .ipynb) that marks something ``.servable()``.
        address: the address to listen on.
        port: the TCP port (1-65535).
        basic_auth: a JSON file of ``{user: password}`` for basic authentication, or None.
        oauth_provider: an OAuth provider Panel knows ("github", "google", "azure", "generic", ...), or None.
        oauth_key: the OAuth client id (the secret comes from ``PANEL_OAUTH_SECRET``).
        oauth_redirect_uri: the redirect URI registered with the provider, or None.
        ssl_certfile: a TLS certificate (PEM) to serve HTTPS, or None.
        ssl_keyfile: its private key, or None.
        extra_origins: more ``host:port`` websocket origins to allow (for a reverse proxy).
        show: open a browser.
    """

    app: Path
    address: str = "127.0.0.1"
    port: int = 5006
    basic_auth: Path | None = None
    oauth_provider: str | None = None
    oauth_key: str | None = None
    oauth_redirect_uri: str | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    extra_origins: tuple[str, ...] = field(default=())
    show: bool = False


def is_local(address: str) -> bool:
    """Whether ``address`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``; 0.0.0.0 is not."""
    if address.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def _origins(opts: ServeOptions) -> list[str]:
    hosts = ["localhost", "127.0.0.1"] if is_local(opts.address) else [opts.address]
    return [f"{h}:{opts.port}" for h in hosts] + list(opts.extra_origins)


def check(opts: ServeOptions, env: Mapping[str, str]) -> list[str]:
    """Check ``opts`` against the rules above; return warnings (raise `ServeError` for what must not run)."""
    app = opts.app
    if app.suffix not in (".py", ".ipynb"):
        raise ServeError(f"the app must be a Python script or a notebook (.py or .ipynb); got {str(app)!r}")
    if not app.is_file():
        raise ServeError(f"no app at {str(app)!r}: pass the path of a script or notebook that calls .servable()")
    if not 1 <= opts.port <= 65535:
        raise ServeError(f"--port must lie in 1..65535 (the websocket origin names it); got {opts.port}")
    if opts.basic_auth is not None and opts.oauth_provider is not None:
        raise ServeError("choose one authentication: --basic-auth or --oauth-provider, not both")
    if opts.basic_auth is not None and not opts.basic_auth.is_file():
        raise ServeError(
            f"--basic-auth takes a JSON file of {{user: password}}; {str(opts.basic_auth)!r} is not a file "
            "(a password on the command line would be visible to every user of the machine)"
        )
    if opts.oauth_provider is not None:
        if not opts.oauth_key:
            raise ServeError("--oauth-provider needs --oauth-key (the client id the provider issued)")
        if not env.get("PANEL_OAUTH_SECRET"):
            raise ServeError("--oauth-provider needs the client secret in the PANEL_OAUTH_SECRET environment variable")
    if (opts.ssl_certfile is None) != (opts.ssl_keyfile is None):
        raise ServeError("HTTPS needs both --ssl-certfile and --ssl-keyfile")
    for f in (opts.ssl_certfile, opts.ssl_keyfile):
        if f is not None and not f.is_file():
            raise ServeError(f"no such file: {str(f)!r}")
    authenticated = opts.basic_auth is not None or opts.oauth_provider is not None
    if not is_local(opts.address) and not authenticated:
        raise ServeError(MSG_NEEDS_AUTH.format(address=opts.address))
    warnings = []
    if not is_local(opts.address) and opts.ssl_certfile is None:
        warnings.append(
            f"serving {opts.address} over plain HTTP: passwords and session cookies cross the network unencrypted; "
            "pass --ssl-certfile and --ssl-keyfile, or put the app behind an HTTPS reverse proxy."
        )
    return warnings


def command(opts: ServeOptions, env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The ``panel serve`` command line and environment for ``opts`` (after `check`)."""
    argv = [sys.executable, "-m", "panel", "serve", str(opts.app), "--address", opts.address, "--port", str(opts.port)]
    for origin in _origins(opts):
        argv += ["--allow-websocket-origin", origin]
    if opts.basic_auth is not None:
        argv += ["--basic-auth", str(opts.basic_auth)]
    if opts.oauth_provider is not None:
        argv += ["--oauth-provider", opts.oauth_provider, "--oauth-key", str(opts.oauth_key)]
        if opts.oauth_redirect_uri:
            argv += ["--oauth-redirect-uri", opts.oauth_redirect_uri]
    if opts.ssl_certfile is not None:
        argv += ["--ssl-certfile", str(opts.ssl_certfile), "--ssl-keyfile", str(opts.ssl_keyfile)]
    if opts.show:
        argv.append("--show")
    out = dict(env)
    out.pop("BOKEH_COOKIE_SECRET", None)  # Panel prefers its own variable; one secret, not two
    if not out.get("PANEL_COOKIE_SECRET"):
        out["PANEL_COOKIE_SECRET"] = secrets.token_urlsafe(32)
    return argv, out


def serve(opts: ServeOptions) -> None:
    """Check ``opts``, print any warning, and replace this process with ``panel serve`` (never returns)."""
    env = dict(os.environ)
    for w in check(opts, env):
        print(f"twinlab serve: warning: {w}", file=sys.stderr)
    argv, env = command(opts, env)
    os.execve(argv[0], argv, env)
