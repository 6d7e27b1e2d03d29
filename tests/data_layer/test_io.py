import multiprocessing
import os
import pickle
import signal
import time
from pathlib import Path

import numpy as np
import pytest

import twinlab as tl
from twinlab import io
from twinlab.data import Store


def test_round_trip_of_params_schedule_and_pytrees(tmp_path: Path) -> None:
    params = tl.glucose.patient("adult#001")
    schedule = tl.glucose.Schedule(meals=[(60, 45.0)], boluses=[(60, 4.5)], basal=[(0, 0.8), (300, 1.1)])
    tree = {"params": params, "schedule": schedule, "w": [np.arange(6.0).reshape(2, 3), np.float32(2.5)],
            "meta": ("name", 3, None, float("inf"), True), "mask": np.array([True, False])}  # fmt: skip
    loaded = io.load(io.save(tree, tmp_path / "t.twinlab"))
    assert type(loaded["params"]) is tl.glucose.PatientParams
    for name in tl.glucose.MODEL_FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(loaded["params"], name)), np.asarray(getattr(params, name)))
    assert loaded["schedule"]._basal == schedule._basal and loaded["schedule"]._meals == schedule._meals
    assert loaded["w"][0].shape == (2, 3) and loaded["w"][1].dtype == np.float32 and loaded["w"][1].shape == ()
    assert loaded["meta"] == ("name", 3, None, float("inf"), True)
    assert loaded["mask"].dtype == np.bool_


def test_record_round_trip_through_the_store() -> None:
    schedule = tl.glucose.Schedule(meals=[(5, 40.0)])
    record = tl.glucose.GlucoseRecord(
        np.array([0.0, 15.0]),
        np.array([120.0, 130.0]),
        schedule,
        minutes=30,
        meal_carbs_sd_g=np.array([8.0]),
        start="2024-01-01T00:00:00Z",
        subject="p",
    )
    store = Store()
    assert [store.save_twin("p", record), store.save_twin("p", {"v": 2})] == [1, 2]
    assert store.load_twin("p") == {"v": 2}
    back = store.load_twin("p", 1)
    assert back.subject == "p" and back.meal_carbs_sd_g.tolist() == [8.0] and back.schedule._meals == ((5, 40.0),)


class _Evil:
    def __reduce__(self):  # what a malicious pickle does when it is loaded
        return (os.system, (f"touch {os.environ['TL_MARKER']}",))


def test_pickle_payload_is_refused_and_never_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "executed"
    monkeypatch.setenv("TL_MARKER", str(marker))
    payload = pickle.dumps(_Evil())
    path = tmp_path / "evil.twinlab"
    path.write_bytes(payload)
    with pytest.raises(io.FormatError, match="not a twinlab file"):
        io.load(path)
    # The same payload behind a plausible safetensors header length is refused too.
    path.write_bytes(len(payload).to_bytes(8, "little") + payload)
    with pytest.raises(io.FormatError):
        io.load(path)
    assert not marker.exists()


def test_damaged_and_foreign_files(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    good = io.dumps({"x": np.arange(100.0)})
    for data in (good[: len(good) // 2], good[:7], b"", b"\x00" * 64):
        with pytest.raises(io.FormatError):
            io.loads(data)
    save_file({"x": np.zeros(3)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(io.FormatError, match="without twinlab's metadata"):
        io.load(tmp_path / "foreign.safetensors")
    with pytest.raises(TypeError, match="register"):
        io.dumps(object())


def _save_forever(path: str, log: str) -> None:
    rng = np.random.default_rng(0)
    for i in range(1_000_000):
        io.save({"version": i, "weights": np.full(20_000, float(i)) + 0 * rng.random(20_000)}, path)
        with open(log, "a") as fh:
            fh.write(f"{i}\n")


@pytest.mark.slow
def test_kill_during_repeated_saves_leaves_the_last_complete_version(tmp_path: Path) -> None:
    path, log = tmp_path / "twin.twinlab", tmp_path / "saved.log"
    ctx = multiprocessing.get_context("spawn")
    for round_ in range(4):
        proc = ctx.Process(target=_save_forever, args=(str(path), str(log)))
        proc.start()
        before = len(log.read_text().split()) if log.exists() else 0
        while (len(log.read_text().split()) if log.exists() else 0) < before + 5 + 7 * round_:
            assert proc.is_alive(), "the saving process died on its own"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        assert proc.exitcode == -signal.SIGKILL
        logged = int(log.read_text().split()[-1])
        obj = io.load(path)
        # The file holds a whole save: its array agrees with its spec, and it is the last logged save or the next.
        assert obj["version"] in (logged, logged + 1)
        np.testing.assert_array_equal(obj["weights"], np.full(20_000, float(obj["version"])))


class _Thing:
    def __init__(self, w: np.ndarray, label: str) -> None:
        self.w, self.label = w, label


def test_registry_of_new_types_and_layout_versions() -> None:
    io.register(_Thing, "test.Thing", to_data=lambda t: {"w": t.w, "label": t.label},
                from_data=lambda d, version: _Thing(d["w"], d["label"] + f"@v{version}"), version=2)  # fmt: skip
    back = io.loads(io.dumps([_Thing(np.ones(2), "a")]))[0]
    assert isinstance(back, _Thing) and back.label == "a@v2" and back.w.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="already registered"):
        io.register(dict, "test.Thing", to_data=dict, from_data=lambda d, v: d)
    newer = io.dumps(_Thing(np.ones(1), "b")).replace(b'__version__\\": 2', b'__version__\\": 3')
    with pytest.raises(io.FormatError, match="layout version 3"):
        io.loads(newer)
