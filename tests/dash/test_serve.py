"""`twinlab serve`: the argument checks and the panel command they produce (no server is started here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from twinlab._serve import ServeError, ServeOptions, check, command, is_local
from twinlab.cli import main


@pytest.fixture
def app(tmp_path: Path) -> Path:
    p = tmp_path / "app.py"
    p.write_text("import panel as pn\npn.pane.Markdown('hi').servable()\n")
    return p


@pytest.fixture
def users(tmp_path: Path) -> Path:
    p = tmp_path / "users.json"
    p.write_text(json.dumps({"ana": "a long passphrase"}))
    return p


@pytest.mark.parametrize(
    ("address", "local"),
    [("127.0.0.1", True), ("127.3.4.5", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("0.0.0.0", False), ("192.168.1.10", False), ("example.org", False), ("::", False)],
)  # fmt: skip
def test_only_loopback_addresses_count_as_local(address: str, local: bool) -> None:
    assert is_local(address) is local


@pytest.mark.parametrize("address", ["0.0.0.0", "10.0.0.2", "example.org"])
def test_a_reachable_address_without_authentication_is_refused(app: Path, address: str) -> None:
    with pytest.raises(ServeError, match="authentication"):
        check(ServeOptions(app, address=address), {})


def test_a_reachable_address_with_basic_auth_runs_but_warns_about_plain_http(app: Path, users: Path) -> None:
    warnings = check(ServeOptions(app, address="0.0.0.0", basic_auth=users), {})
    assert len(warnings) == 1 and "plain HTTP" in warnings[0]


def test_basic_auth_takes_a_file_not_a_password(app: Path) -> None:
    with pytest.raises(ServeError, match="JSON file"):
        check(ServeOptions(app, address="0.0.0.0", basic_auth=Path("hunter2")), {})


def test_oauth_needs_a_key_and_its_secret_in_the_environment(app: Path) -> None:
    with pytest.raises(ServeError, match="--oauth-key"):
        check(ServeOptions(app, address="0.0.0.0", oauth_provider="github"), {})
    opts = ServeOptions(app, address="0.0.0.0", oauth_provider="github", oauth_key="id")
    with pytest.raises(ServeError, match="PANEL_OAUTH_SECRET"):
        check(opts, {})
    assert check(opts, {"PANEL_OAUTH_SECRET": "s"})
    argv, _ = command(opts, {"PANEL_OAUTH_SECRET": "s"})
    assert argv[argv.index("--oauth-provider") + 1] == "github" and "s" not in argv


def test_one_authentication_only(app: Path, users: Path) -> None:
    with pytest.raises(ServeError, match="not both"):
        check(ServeOptions(app, basic_auth=users, oauth_provider="github", oauth_key="id"), {})


def test_https_needs_certificate_and_key(app: Path, users: Path) -> None:
    with pytest.raises(ServeError, match="both"):
        check(ServeOptions(app, ssl_certfile=users), {})
    tls = ServeOptions(app, address="0.0.0.0", basic_auth=users, ssl_certfile=users, ssl_keyfile=users)
    assert check(tls, {}) == []


@pytest.mark.parametrize(("name", "text"), [("app.txt", "x"), ("missing.py", None)])
def test_the_app_must_be_an_existing_script_or_notebook(tmp_path: Path, name: str, text: str | None) -> None:
    p = tmp_path / name
    if text is not None:
        p.write_text(text)
    with pytest.raises(ServeError, match="app"):
        check(ServeOptions(p), {})


@pytest.mark.parametrize("port", [0, 70000])
def test_the_port_is_a_real_port(app: Path, port: int) -> None:
    with pytest.raises(ServeError, match="--port"):
        check(ServeOptions(app, port=port), {})


def test_localhost_gets_origins_for_its_port_and_a_fresh_cookie_secret(app: Path) -> None:
    opts = ServeOptions(app, port=5123)
    assert check(opts, {}) == []
    argv, env = command(opts, {"BOKEH_COOKIE_SECRET": "old"})
    origins = [argv[i + 1] for i, a in enumerate(argv) if a == "--allow-websocket-origin"]
    assert origins == ["localhost:5123", "127.0.0.1:5123"]
    assert argv[argv.index("--address") + 1] == "127.0.0.1" and argv[3:5] == ["serve", str(app)]
    secret = env["PANEL_COOKIE_SECRET"]
    assert len(secret) >= 40 and secret not in argv and "BOKEH_COOKIE_SECRET" not in env
    assert command(opts, {})[1]["PANEL_COOKIE_SECRET"] != secret  # a new secret per run
    assert command(opts, {"PANEL_COOKIE_SECRET": "mine"})[1]["PANEL_COOKIE_SECRET"] == "mine"


def test_a_public_address_allows_only_its_own_origin_and_the_proxies_named(app: Path, users: Path) -> None:
    opts = ServeOptions(app, address="10.1.2.3", port=80, basic_auth=users, extra_origins=("twins.example.org:443",))
    argv, _ = command(opts, {})
    origins = [argv[i + 1] for i, a in enumerate(argv) if a == "--allow-websocket-origin"]
    assert origins == ["10.1.2.3:80", "twins.example.org:443"]
    assert argv[argv.index("--basic-auth") + 1] == str(users)


def test_the_cli_refuses_with_the_reason(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        main(["serve", str(app), "--address", "0.0.0.0"])
    assert err.value.code == 2
    assert "refusing to serve on 0.0.0.0" in capsys.readouterr().err


def test_the_cli_stays_light() -> None:
    code = "import sys, twinlab.cli; print([m for m in ('panel', 'bokeh', 'holoviews', 'jax') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
