"""The data set registry: lookup, checksum verification on every load, clear errors, verified downloads."""

import hashlib
import pathlib

import pytest

from twinlab import datasets


def test_every_registered_file_loads_and_verifies(real_data):
    for name, ds in datasets.DATASETS.items():
        for filename in ds.files:
            path = datasets.fetch(name, filename)
            assert path.is_file() and path.is_relative_to(real_data)


def test_unknown_names_are_errors_that_list_the_choices():
    with pytest.raises(KeyError, match="registered: anaheim"):
        datasets.fetch("nope", "x.csv")
    with pytest.raises(KeyError, match=r"los_adj\.csv"):
        datasets.fetch("tgcn_los_loop", "nope.csv")


def _fake_registry(monkeypatch, tmp_path, content: bytes, url: str | None = None) -> pathlib.Path:
    sha = hashlib.sha256(content).hexdigest()
    ds = datasets.Dataset("toy", "toy", "here", "none", "none", {"a.csv": sha}, {"a.csv": url} if url else {})
    monkeypatch.setitem(datasets.DATASETS, "toy", ds)
    monkeypatch.setenv("TWINLAB_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "toy" / "a.csv"


def test_missing_file_says_where_it_was_looked_for(monkeypatch, tmp_path):
    path = _fake_registry(monkeypatch, tmp_path, b"1,2\n")
    with pytest.raises(datasets.DataFileError, match=r"not found at .*toy/a\.csv.*TWINLAB_DATA_DIR"):
        datasets.fetch("toy", "a.csv")
    assert not path.exists()


def test_damaged_file_is_refused(monkeypatch, tmp_path):
    path = _fake_registry(monkeypatch, tmp_path, b"1,2\n")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"1,3\n")
    with pytest.raises(datasets.DataFileError, match="damaged or a different version"):
        datasets.fetch("toy", "a.csv")
    path.write_bytes(b"1,2\n")
    assert datasets.fetch("toy", "a.csv") == path


def test_download_is_verified_before_it_lands(monkeypatch, tmp_path):
    source = tmp_path / "remote.csv"
    source.write_bytes(b"1,2\n")
    path = _fake_registry(monkeypatch, tmp_path, b"1,2\n", url=source.as_uri())
    assert datasets.fetch("toy", "a.csv", download=True).read_bytes() == b"1,2\n"
    path.unlink()
    source.write_bytes(b"evil")
    with pytest.raises(datasets.DataFileError, match="download of"):
        datasets.fetch("toy", "a.csv", download=True)
    assert not path.exists()


def test_the_data_command_lists_downloads_and_reports_what_is_missing(monkeypatch, tmp_path, capsys):
    from twinlab.cli import main

    source = tmp_path / "remote.csv"
    source.write_bytes(b"1,2\n")
    path = _fake_registry(monkeypatch, tmp_path, b"1,2\n", url=source.as_uri())
    sha = hashlib.sha256(b"3\n").hexdigest()
    monkeypatch.setitem(datasets.DATASETS, "toy2", datasets.Dataset("toy2", "t", "a lab's website", "none", "none",
                                                                    {"b.csv": sha}))  # fmt: skip
    assert main(["data", "toy"]) == 1  # not there yet
    assert "missing    toy/a.csv" in capsys.readouterr().out
    assert main(["data", "--download", "toy"]) == 0
    assert "downloaded toy/a.csv" in capsys.readouterr().out and path.read_bytes() == b"1,2\n"
    assert main(["data", "toy"]) == 0 and "ok         toy/a.csv" in capsys.readouterr().out
    assert main(["data", "--download", "toy", "toy2"]) == 1  # no address: says where to get it
    assert "get it from a lab's website" in capsys.readouterr().out
    path.write_bytes(b"tampered")
    assert main(["data", "toy"]) == 1 and "bad        toy/a.csv" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["data", "nope"])


def test_every_download_address_is_pinned_to_a_commit():
    """An address that names a branch could serve other bytes tomorrow; a commit's raw file cannot."""
    import re

    pinned = re.compile(r"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+$")
    for name, ds in datasets.DATASETS.items():
        assert set(ds.urls) <= set(ds.files), f"{name}: an address for a file it does not register"
        for filename, url in ds.urls.items():
            assert pinned.match(url), f"{name}/{filename}: {url} is not a raw file at a fixed commit"
            assert url.rsplit("/", 1)[1].split(".")[-1] == filename.split(".")[-1], f"{name}/{filename}: {url}"
