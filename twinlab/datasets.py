"""A registry of the real data sets twinlab uses: where each comes from, its licence note, and its files' SHA-256.

The files are not shipped with twinlab (their licences are unclear or "academic research only"). They are read from a
cache folder: ``$TWINLAB_DATA_DIR`` if set, else ``~/.cache/twinlab/data``. Inside it each data set has its own
folder (``<cache>/<dataset>/<file>``; D1NAMO's folder is ``d1namo_glucobench``). Every load checks the file's SHA-256,
so a damaged, truncated or different file is an error rather than a silently different result. Files with a known
download address can be fetched into the cache with ``fetch(..., download=True)``; the download is verified before it
is moved into place.

Example:
    >>> from twinlab import datasets
    >>> sorted(datasets.DATASETS)[:2]
    ['anaheim', 'd1namo']
    >>> datasets.DATASETS["tgcn_los_loop"].licence[:9]
    'None stat'
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from twinlab._atomic import atomic_write_bytes

__all__ = ["DATASETS", "DataFileError", "Dataset", "cache_dir", "fetch", "status", "verify"]

ENV_VAR = "TWINLAB_DATA_DIR"


class DataFileError(FileNotFoundError):
    """A registered data file is missing, or its content does not match its registered SHA-256."""


@dataclass(frozen=True)
class Dataset:
    """One registered data set.

    Attributes:
        name: registry key, also the folder name inside the cache.
        title: what it is, in a line.
        source: where it comes from (a citable page or repository at a fixed commit).
        licence: what its source says about reuse.
        cite: the reference to cite when using it.
        files: file path inside the data set's folder -> full SHA-256 (hex).
        urls: file path -> a direct download address, for the files that have one.
    """

    name: str
    title: str
    source: str
    licence: str
    cite: str
    files: dict[str, str]
    urls: dict[str, str] = field(default_factory=dict)


_TGCN = "https://raw.githubusercontent.com/lehaifeng/T-GCN/219a2346f5bf68d54d91a948e7a41a08f9edc46b/T-GCN/T-GCN-PyTorch/data"
_TNTP = "https://raw.githubusercontent.com/bstabler/TransportationNetworks/d1639b4ef218c17928ba573e806ddf8ba5e7ae6d"

_TNTP_SOURCE = "https://github.com/bstabler/TransportationNetworks (commit d1639b4ef218c17928ba573e806ddf8ba5e7ae6d)"
# GlucoBench kept one file name, raw_data/Dubosson_processed_with_covariates.csv, through several versions: the event
# version (doses and meals at their times) at one commit, the interpolated version at another.
_GLUCOBENCH = "https://raw.githubusercontent.com/IrinaStatsLab/GlucoBench"
_GLUCOBENCH_FILE = "raw_data/Dubosson_processed_with_covariates.csv"
_SHANGHAI_REPO = "KartikeyBartwal/Research-Work-On-Detecting-Type-1-and-Type-2-Diabetes-via-Shanghai-Dataset"
_SHANGHAI = f"https://raw.githubusercontent.com/{_SHANGHAI_REPO}/49c2c8cc9a5ff7f3b20aa0b29758553a1e2e462a"
_SIOUX = ("SiouxFalls_net.tntp", "SiouxFalls_node.tntp", "SiouxFalls_trips.tntp", "SiouxFalls_flow.tntp")
_ANAHEIM = ("Anaheim_net.tntp", "Anaheim_trips.tntp", "Anaheim_flow.tntp", "anaheim_nodes.geojson")

_SHANGHAI_FILES = {
    "Shanghai_T1DM/1001_0_20210730.xlsx": "59708da569e8364d632eaa813c8c26ba5a01cad4bf3ddacb46f232ef5ca56bef",
    "Shanghai_T1DM/1002_0_20210504.xls": "e0026c752d882bf3bc716fd7bccff511b6219568f67fb0473e71f06235817701",
    "Shanghai_T1DM/1002_1_20210521.xls": "a46a2f8a913080149590ead5bf7b4ee95849ceff6eebac72b792e2959ae71ba0",
    "Shanghai_T1DM/1002_2_20210909.xls": "d6e4fccc36af7754e98fc0cc4eae5e21b8e55ed2f05de5e917a2f937383ea0be",
    "Shanghai_T1DM/1003_0_20210831.xls": "e8b31e8bf76b295bcaee304b2ae19167ac4f4f27076d4be67cccd05ae01b8ce6",
    "Shanghai_T1DM/1004_0_20210425.xls": "753dce6f89639effd0c59d72eeed686090647ea55745ff1ee98341baef861b3d",
    "Shanghai_T1DM/1005_0_20210522.xls": "936c03223dc77eb462733452b3305210a039993c8422701763ec6ed6cecffb2f",
    "Shanghai_T1DM/1006_0_20210114.xlsx": "959b3611c02c2124f8aff9d9cb7f9ab52a49954e092533f6353855d79d5d0390",
    "Shanghai_T1DM/1006_1_20210209.xlsx": "bb0963617990f490094f42c0a05b7a9fd8f664d85367a1a889182b4693991032",
    "Shanghai_T1DM/1006_2_20210303.xlsx": "60691c78b107fb46c03ec9b69578507afa7415fbb176e05c11b1f638e076234c",
    "Shanghai_T1DM/1007_0_20210726.xls": "18d980ece336268dd6f11b120ac4ea92d88ec3df5e3fd9860d38e5421dbb9565",
    "Shanghai_T1DM/1008_0_20210713.xls": "fdd6a00d8196f2a320eaff2b8ccfe10d53d4f42680f60a9f8612d8d39d8bfff9",
    "Shanghai_T1DM/1009_0_20210803.xls": "c843c1a4c5bae9a8847705c12537be1a1e5617f654c0512ece7ccfe77f975466",
    "Shanghai_T1DM/1010_0_20210915.xls": "763be65c51ec408f62330d2deb1510872643e7d47846f1d14c4ce17b25340dba",
    "Shanghai_T1DM/1011_0_20210622.xls": "4bb1cc38539095d848a428b5b01907819bbb6199e708ce2ddd5e3d063ed68f45",
    "Shanghai_T1DM/1012_0_20210923.xls": "4716f48142c5eb1f1f0c872b47652e9e509a48804a18a4065162ba54aaeeea32",
    "Shanghai_T1DM_Summary.xlsx": "4868948c45d97376945387db637b962096965b3cdc8919416e5d5eea09e8095d",
}

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="tgcn_los_loop",
            title="Los Angeles highway speeds (207 loop detectors, 5-minute steps, 1-7 March 2012) and sensor graph",
            source="https://github.com/lehaifeng/T-GCN (commit 219a2346f5bf68d54d91a948e7a41a08f9edc46b)",
            licence="None stated for the data; cite the paper.",
            cite="Zhao et al., T-GCN: A Temporal Graph Convolutional Network for Traffic Prediction, IEEE T-ITS 2019, "
            "doi:10.1109/TITS.2019.2935152",
            files={
                "los_speed.csv": "7b732d86ae32b2930595becba28aff39dacbfb2197e250fc0332e1744ce2cbf4",
                "los_adj.csv": "7a6eb41e10677992b5af50f5ab187c6c05c5c3a92cb973950cfddbf857361e76",
            },
            urls={"los_speed.csv": f"{_TGCN}/los_speed.csv", "los_adj.csv": f"{_TGCN}/los_adj.csv"},
        ),
        Dataset(
            name="tgcn_sz_taxi",
            title="Shenzhen Luohu road graph (156 roads, 0/1 adjacency)",
            source="https://github.com/lehaifeng/T-GCN (commit 219a2346f5bf68d54d91a948e7a41a08f9edc46b)",
            licence="None stated for the data; cite the paper.",
            cite="Zhao et al., IEEE T-ITS 2019, doi:10.1109/TITS.2019.2935152",
            files={"sz_adj.csv": "4e40e865b29d73df8404f6cc4c1a0c5ba55aa575aef97a4e9ce4fcd30aad16d6"},
            urls={"sz_adj.csv": f"{_TGCN}/sz_adj.csv"},
        ),
        Dataset(
            name="sioux_falls",
            title="Sioux Falls network: links, nodes, origin-destination demand and user-equilibrium flows (TNTP)",
            source=_TNTP_SOURCE,
            licence="Data sets are for academic research purposes only; users must indicate the source.",
            cite="Transportation Networks for Research Core Team, https://github.com/bstabler/TransportationNetworks",
            files={
                "SiouxFalls_net.tntp": "ace99b24cec69c273ff0cf3d6d074110177f0cc0ae24b0c7a9f4f4cb5e27635c",
                "SiouxFalls_node.tntp": "91c0b954dcfc6f6f08f48de1ce9d245261f5188a33aef76acf3ce1fff0809969",
                "SiouxFalls_trips.tntp": "56f9566857f3f66730fd5c4232258d7ee3ac2931a476526331afd062f4958de7",
                "SiouxFalls_flow.tntp": "5d0b83a22ecc3ce79dabb2b2972162b78c5eda571dcb5b3687429d8397654fee",
            },
            urls={f: f"{_TNTP}/SiouxFalls/{f}" for f in _SIOUX},
        ),
        Dataset(
            name="anaheim",
            title="Anaheim network: 416 nodes, 914 links, demand and user-equilibrium flows (TNTP)",
            source=_TNTP_SOURCE,
            licence="Data sets are for academic research purposes only; users must indicate the source.",
            cite="Transportation Networks for Research Core Team, https://github.com/bstabler/TransportationNetworks",
            files={
                "Anaheim_net.tntp": "99933b415e9500b13907829c37a43cfa9141714fad5af279081e28e5f9356f9a",
                "Anaheim_trips.tntp": "906893854cd0db4479c0b5f07678ce5616fa8e42e2b997f918c378309c66a94e",
                "Anaheim_flow.tntp": "eecd21c2a908b6a1c6729045ea260e96df1de026f05281d341fc281f2552cebe",
                "anaheim_nodes.geojson": "09467725693e40b1aad64dbb27520c78967271cf0000bce01eb607b0dda63161",
            },
            urls={f: f"{_TNTP}/Anaheim/{f}" for f in _ANAHEIM},
        ),
        Dataset(
            name="shanghai_t1dm",
            title="ShanghaiT1DM: 12 people with type 1 diabetes, 16 visits of 3-14 days (15-min CGM, insulin, meals)",
            source=f"Zhao et al. 2023 on figshare; the copy used: github.com/{_SHANGHAI_REPO} "
            "(commit 49c2c8cc9a5ff7f3b20aa0b29758553a1e2e462a)",
            licence="CC BY 4.0 as stated on figshare (the GitHub copy states none).",
            cite="Zhao et al., Chinese diabetes datasets for data-driven machine learning, Sci. Data 10:35 (2023), "
            "doi:10.1038/s41597-023-01940-7",
            files=_SHANGHAI_FILES,
            urls={f: f"{_SHANGHAI}/{f}" for f in _SHANGHAI_FILES},
        ),
        Dataset(
            name="d1namo",
            title="D1NAMO as processed by GlucoBench: 9 people with type 1 diabetes, 5-minute CGM, insulin, meal kcal",
            source="https://github.com/IrinaStatsLab/GlucoBench (commit 43385f57c43a4d92f943de6adccd01f4b78b4027); "
            "original data doi:10.5281/zenodo.1421615",
            licence="Creative Commons 4.0 (GlucoBench's README links BY-SA 4.0).",
            cite="Dubosson et al., The open D1NAMO dataset, Informatics in Medicine Unlocked 13 (2018); "
            "Sergazinov et al., GlucoBench, ICLR 2024",
            files={
                "Dubosson_processed_with_covariates_events.csv": (
                    "0de86b12e09ca552569d34d4ce9599cc4d89fcf2f484bd8d5563d4bcaafb84fd"
                ),
                "Dubosson_processed_with_covariates_interpolated.csv": (
                    "095d30b40579221d060d7c79626a39fc460e1b2947fa99a33ffca30d1a2772f2"
                ),
            },
            urls={
                "Dubosson_processed_with_covariates_events.csv": (
                    f"{_GLUCOBENCH}/43385f57c43a4d92f943de6adccd01f4b78b4027/{_GLUCOBENCH_FILE}"
                ),
                "Dubosson_processed_with_covariates_interpolated.csv": (
                    f"{_GLUCOBENCH}/15ad719a60c1ae20f0e9b5c481f47d683a9d9670/{_GLUCOBENCH_FILE}"
                ),
            },
        ),
    )
}

# The folder names the shared data checkout uses, where they differ from the registry names.
_FOLDERS = {"d1namo": "d1namo_glucobench"}


def cache_dir() -> Path:
    """The folder data sets are read from: ``$TWINLAB_DATA_DIR``, else ``~/.cache/twinlab/data``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "twinlab" / "data"


def _dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise KeyError(f"unknown data set {name!r}; registered: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _location(ds: Dataset, filename: str) -> Path:
    return cache_dir() / _FOLDERS.get(ds.name, ds.name) / filename


def verify(path: Path, expected_sha256: str, what: str) -> Path:
    """Check ``path``'s SHA-256; raise DataFileError naming ``what`` if it differs."""
    actual = _sha256(path)
    if actual != expected_sha256:
        raise DataFileError(
            f"{what} at {path} is damaged or a different version: SHA-256 {actual[:16]}..., expected "
            f"{expected_sha256[:16]}... Replace it with the registered file (see twinlab.datasets.DATASETS)."
        )
    return path


def fetch(name: str, filename: str, *, download: bool = False) -> Path:
    """The verified local path of one file of a registered data set.

    Args:
        name: data set name (a key of ``DATASETS``).
        filename: the file's path inside the data set (a key of ``DATASETS[name].files``).
        download: if the file is missing and has a registered address, download it into the cache (verified first).

    Raises:
        KeyError: an unknown data set or file.
        DataFileError: the file is missing (the message says where it was looked for and where to get it) or its
            checksum does not match.
    """
    ds = _dataset(name)
    if filename not in ds.files:
        raise KeyError(f"data set {name!r} has no file {filename!r}; its files: {', '.join(sorted(ds.files))}")
    path = _location(ds, filename)
    what = f"data set {name!r} file {filename!r}"
    if not path.is_file():
        url = ds.urls.get(filename)
        if download and url:
            _download(url, path, ds.files[filename], what)
        else:
            how = f"download it from {url} (or call fetch(..., download=True))" if url else f"get it from {ds.source}"
            raise DataFileError(
                f"{what} not found at {path}. Set ${ENV_VAR} to a folder holding '{path.parent.name}/{filename}', "
                f"or {how}."
            )
    return verify(path, ds.files[filename], what)


def status(names: list[str] | None = None, *, download: bool = False) -> list[tuple[str, str, str, str]]:
    """Every registered file of the data sets ``names`` (default: all): is it in the cache, verified?

    Args:
        names: data set names (keys of ``DATASETS``).
        download: fetch the missing files that have a download address (each verified before it is kept).

    Returns:
        One ``(dataset, file, state, detail)`` per file: state "ok" (detail: its path), "downloaded" (its path),
        "missing" (where to put it and where to get it) or "bad" (the checksum or download error).
    """
    rows = []
    for name in sorted(DATASETS) if names is None else names:
        ds = _dataset(name)
        for filename in sorted(ds.files):
            path = _location(ds, filename)
            present = path.is_file()
            try:
                fetch(name, filename, download=download)
            except DataFileError as err:
                state = "bad" if present or (download and filename in ds.urls) else "missing"
                rows.append((name, filename, state, str(err)))
                continue
            except OSError as err:  # a failed download, or an unreadable file
                rows.append((name, filename, "bad", f"{path}: {err}"))
                continue
            rows.append((name, filename, "ok" if present else "downloaded", str(path)))
    return rows


def _download(url: str, path: Path, expected_sha256: str, what: str) -> None:
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise DataFileError(
            f"download of {what} from {url} has SHA-256 {actual[:16]}..., expected {expected_sha256[:16]}..."
        )
    atomic_write_bytes(path, data)
