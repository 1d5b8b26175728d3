"""The training core: options, state files, data batches, the dataset checker, the run directory,
and bad input (empty/mismatched datasets, mixed images, labels outside the set, another family's
run, a full disk during a save, NaN losses)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.data import folders
from engine.errors import CheckpointError, EngineError, InputError
from engine.loaders.detect import load_model
from engine.training import families, rundir
from engine.training.data import TrainData
from engine.training.loop import prepare_data, run_training
from engine.training.options import TrainOptions, resolve
from engine.training.rundir import RunDir, flatten_state, load_state, read_progress, unflatten_state
from engine.training.trainer import RunContext
from tests.engine import training_toy


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return training_toy.write_images(tmp_path_factory.mktemp("toy_images"))


def _toy_run(tmp_path: Path, images: Path, steps: int = 6, **extra) -> RunDir:
    opts = TrainOptions(family="toy", data=(str(images),), out=str(tmp_path / "run"), steps=steps,
                        checkpoint_every=2, sample_every=100, deterministic=True, extra=extra)
    rd = RunDir(tmp_path / "run")
    rd.prepare(opts, resume=False)
    return rd


def _paired(root: Path, names=("a", "b", "c"), size=(32, 32), labelset: dict | None = None, top: int = 4) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rng = np.random.default_rng(1)
    for name in names:
        label = rng.integers(0, top + 1, size=size, dtype=np.uint8)
        Image.fromarray(label, mode="L").save(root / "labels" / f"{name}.png")
        grey = (label.astype(np.uint8) * 50)
        Image.fromarray(np.stack([grey] * 3, axis=2)).save(root / "images" / f"{name}.png")
    if labelset is not None:
        (root / "labelset.json").write_text(json.dumps(labelset))
    return root


# ---- options and state files -------------------------------------------------------------------


def test_options_resolve_takes_user_then_family_then_global_defaults():
    opts = TrainOptions(family="toy", data=("x",), batch=2, extra={"ngf": 8})
    resolved = resolve(opts, {"batch": 16, "lr_d": 4e-4, "ngf": 64, "vae": False}, ("hinge", "lsgan"))
    assert resolved.batch == 2 and resolved.lr_d == 4e-4 and resolved.steps == 10000
    assert resolved.loss == "hinge" and resolved.get("ngf") == 8 and resolved.get("vae") is False
    assert TrainOptions.from_dict(resolved.to_dict()) == resolved
    with pytest.raises(InputError, match="--loss hinge | lsgan"):
        resolve(opts.replace(loss="wgan-gp"), {}, ("hinge", "lsgan"))
    with pytest.raises(InputError, match="--batch"):
        resolve(opts.replace(batch=0), {})
    with pytest.raises(InputError, match="does not know: colour"):
        TrainOptions.from_dict({"family": "toy", "colour": 1})


def test_state_flattening_round_trips_structure_and_tensors():
    state = {"a": torch.arange(6.0).reshape(2, 3), "opt": {"state": {0: {"step": torch.tensor(3.0)}},
             "param_groups": [{"betas": (0.5, 0.9), "params": [0, 1], "lr": 1e-3}]},
             "np": np.arange(4, dtype=np.int64), "none": None, "py": (3, tuple(range(5)), None)}
    tensors, structure = flatten_state(state)
    back = unflatten_state(tensors, json.loads(json.dumps(structure)))
    assert torch.equal(back["a"], state["a"]) and back["opt"]["state"][0]["step"].item() == 3.0
    assert back["opt"]["param_groups"][0]["betas"] == (0.5, 0.9) and back["py"] == state["py"]
    assert np.array_equal(back["np"], state["np"]) and back["none"] is None


# ---- data ----------------------------------------------------------------------------------


def test_batches_are_stateless_and_split_over_processes(images):
    data = TrainData.from_folders("flat", [images], 16, seed=4)
    one = data.batch(5, 4)
    assert one["image"].shape == (4, 3, 16, 16) and one["image"].dtype == torch.float32
    assert -1.0 <= float(one["image"].min()) and float(one["image"].max()) <= 1.0
    assert torch.equal(one["image"], data.batch(5, 4)["image"])
    assert not torch.equal(one["image"], data.batch(6, 4)["image"])
    halves = [data.batch(5, 4, rank=r, world_size=2)["image"] for r in (0, 1)]
    assert torch.equal(torch.cat(halves), one["image"])
    with pytest.raises(InputError, match="divide evenly"):
        data.batch(0, 3, rank=0, world_size=2)
    # one epoch visits every image once
    seen = [data._index(p, len(data), 0) for p in range(len(data))]
    assert sorted(seen) == list(range(len(data)))


def test_paired_label_and_image_share_crop_and_flip(tmp_path):
    root = _paired(tmp_path / "pairs")
    data = TrainData.from_folders("paired", [root], 16, load_size=32, seed=2)
    assert data.label_nc == 5 and data.label_set is not None
    for step in range(4):
        batch = data.batch(step, 3)
        grey = ((batch["image"][:, 0] + 1) * 127.5).round().long()
        assert torch.equal(grey, batch["label"] * 50)
    assert set(data.fixed_batch(2)) == {"image", "label"}


def test_mixed_modes_and_sizes_train_and_are_reported(tmp_path):
    root = tmp_path / "mixed"
    root.mkdir()
    Image.fromarray(np.full((20, 30), 100, np.uint8), mode="L").save(root / "grey.png")
    Image.fromarray(np.full((40, 24, 4), 200, np.uint8), mode="RGBA").save(root / "rgba.png")
    Image.fromarray(np.full((12, 12, 3), 50, np.uint8)).save(root / "small.jpg")
    report = folders.check("flat", [root], resolution=16)
    assert report.ok and report.counts == {"images": 3}
    assert len(report.sizes) == 3 and set(report.modes) == {"L", "RGBA", "RGB"}
    assert any("mix modes" in w for w in report.warnings) and any("smaller" in w for w in report.warnings)
    batch = TrainData.from_folders("flat", [root], 16).batch(0, 3)
    assert batch["image"].shape == (3, 3, 16, 16)


# ---- the checker and bad datasets ---------------------------------------------------------------


def test_empty_dataset_is_refused_with_what_to_do(tmp_path):
    (tmp_path / "empty").mkdir()
    report = folders.check("flat", [tmp_path / "empty"])
    assert not report.ok and "holds no images" in report.errors[0]
    with pytest.raises(InputError, match="holds no images"):
        prepare_data(TrainOptions(family="toy", data=(str(tmp_path / "empty"),), resolution=16), "flat")
    (tmp_path / "classes" / "cats").mkdir(parents=True)
    assert "hold no images" in folders.check("classes", [tmp_path / "classes"]).errors[0]
    assert "two folders" in folders.check("unpaired", [tmp_path / "empty"]).errors[0]


def test_mismatched_pairs_are_reported(tmp_path):
    root = _paired(tmp_path / "pairs", names=("a", "b"))
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "images" / "lonely.png")
    report = folders.check("paired", [root])
    assert report.ok and report.counts == {"images": 2} and report.unmatched == ["images/lonely"]
    assert "no partner" in report.warnings[0]
    for p in (root / "labels").iterdir():
        p.rename(p.with_name("x" + p.name))
    report = folders.check("paired", [root])
    assert not report.ok and "no image in images/ has a file of the same name" in report.errors[0]


def test_pair_of_different_sizes_and_unreadable_files_are_errors(tmp_path):
    root = _paired(tmp_path / "pairs")
    Image.fromarray(np.zeros((16, 16), np.uint8), mode="L").save(root / "labels" / "a.png")
    (root / "images" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    report = folders.check("paired", [root])
    assert not report.ok
    assert any("a: the label is 16x16 but the image is 32x32" in e for e in report.errors)
    assert report.unreadable and "b.png" in report.unreadable[0]
    assert "NOT READY" in report.text()


def test_label_values_outside_the_label_set(tmp_path):
    labelset = {"name": "three", "classes": [{"index": i, "name": f"c{i}", "color": [i * 60, 0, 0]} for i in range(3)]}
    root = _paired(tmp_path / "pairs", labelset=labelset, top=4)
    report = folders.check("paired", [root])
    assert not report.ok and "label values 3, 4 are outside the label set" in report.errors[0]
    root2 = _paired(tmp_path / "pairs2", top=4)
    assert "outside" in folders.check("paired", [root2], label_nc=3).errors[0]
    assert folders.check("paired", [root2]).ok  # without a label set, the values seen define it
    with pytest.raises(InputError, match="outside"):
        prepare_data(TrainOptions(family="spade", data=(str(root),), resolution=16), "paired")


# ---- families ------------------------------------------------------------------------------


def test_unknown_and_missing_families_say_so(monkeypatch):
    with pytest.raises(InputError, match="Unknown family 'nope'"):
        families.trainer_class("nope")
    monkeypatch.setitem(families.FAMILIES, "ghost", "engine.training.ghost_not_here")
    with pytest.raises(InputError, match="not available in this build"):
        families.trainer_class("ghost")
    assert families.available()["ghost"] is False and families.present()["ghost"] is False
    assert set(families.LAYOUTS) >= set(families.FAMILIES) - {"ghost"}


# ---- the run directory and the loop --------------------------------------------------------


def test_run_directory_refuses_another_familys_run_and_reuse(tmp_path, images):
    rd = _toy_run(tmp_path, images)
    other = TrainOptions(family="spade", data=(str(images),), steps=3)
    with pytest.raises(InputError, match="holds a toy run, not spade"):
        rd.prepare(other, resume=True)
    with pytest.raises(InputError, match="already holds a toy run"):
        rd.prepare(TrainOptions(family="toy", data=(str(images),)), resume=False)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        RunDir(tmp_path / "junk").prepare(TrainOptions(family="toy"), resume=False)
    resumed = rd.prepare(TrainOptions(family="toy", steps=99), resume=True)
    assert resumed.steps == 99 and rd.read_options().steps == 99


def test_a_run_writes_its_files(tmp_path, images):
    rd = _toy_run(tmp_path, images, steps=5)
    result = run_training(rd.path)
    assert result.state == "done" and result.step == 5
    assert [s for s, _ in rd.checkpoints()] == [2, 4, 5]
    model = load_model(rd.latest_path)
    assert model.family == "srvgg" and model.metadata["training_recipe"]["step"] == 5
    assert (rd.samples_dir / "step_00000005.png").is_file() and (rd.samples_dir / "latest.png").is_file()
    logs = [r for r in read_progress(rd.progress_path) if r["kind"] == "log"]
    assert [r["step"] for r in logs] == [1, 2, 3, 4, 5]
    assert set(logs[-1]["losses"]) == {"G", "D"} and logs[-1]["eta_s"] == 0
    assert rd.read_status()["state"] == "done"
    state = load_state(rd.checkpoints()[-1][1])
    assert state["extra"] == {"iterations": 5} and state["step"] == 5


def test_keep_limits_the_checkpoints(tmp_path, images):
    rd = _toy_run(tmp_path, images, steps=9)
    rd.write_options(rd.read_options().replace(keep=2))
    run_training(rd.path)
    assert [s for s, _ in rd.checkpoints()] == [8, 9]


def test_full_disk_during_a_save_keeps_the_previous_checkpoint(tmp_path, images, monkeypatch):
    rd = _toy_run(tmp_path, images, steps=6)
    real_writer = rundir.write_safetensors
    calls = []

    def writer(tensors, path, metadata):
        calls.append(path)
        if len(calls) >= 2:
            Path(path).write_bytes(b"half a file")  # what a full disk leaves behind
            raise OSError(errno.ENOSPC, "No space left on device")
        real_writer(tensors, path, metadata)

    monkeypatch.setattr(rundir, "write_safetensors", writer)
    with pytest.raises(EngineError, match="No space left on device.*previous checkpoint \\(step 2\\) is intact"):
        run_training(rd.path)
    assert [s for s, _ in rd.checkpoints()] == [2]
    assert load_state(rd.checkpoints()[0][1])["step"] == 2
    assert load_model(rd.latest_path).metadata["training_recipe"]["step"] == 2
    assert not list(rd.checkpoints_dir.glob(".*.tmp")), "the temporary file of the failed save was left behind"
    status = rd.read_status()
    assert status["state"] == "failed" and "No space left" in status["message"]
    monkeypatch.setattr(rundir, "write_safetensors", real_writer)
    assert run_training(rd.path, resume=True).state == "done"


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, images):
    rd = _toy_run(tmp_path, images, steps=10, nan_at=5)
    result = run_training(rd.path)
    assert result.state == "failed" and result.step == 5 and result.checkpoint_step == 4
    assert "NaN or infinite at step 6" in result.message and "last good checkpoint (step 4)" in result.message
    assert [s for s, _ in rd.checkpoints()][-1] == 4
    latest = load_model(rd.latest_path)
    assert latest.metadata["training_recipe"]["step"] == 4
    assert all(torch.isfinite(p).all() for p in latest.parameters())
    assert rd.read_status()["state"] == "failed"
    events = [r["event"] for r in read_progress(rd.progress_path) if r["kind"] == "event"]
    assert events[-1] == "error"


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_runs_and_keeps_the_grad_scaler(tmp_path, images, amp):
    rd = _toy_run(tmp_path, images, steps=3)
    rd.write_options(rd.read_options().replace(amp=amp))
    assert run_training(rd.path).state == "done"
    scaler = load_state(rd.checkpoints()[-1][1])["scaler"]
    assert (scaler is not None and scaler["scale"] > 0) if amp == "fp16" else scaler is None
    assert run_training(rd.path, resume=True).state == "done"  # nothing left to do, but the state loads


def test_checkpoints_by_wall_clock_minutes(tmp_path, images):
    rd = _toy_run(tmp_path, images, steps=4)
    rd.write_options(rd.read_options().replace(checkpoint_every=1000, checkpoint_minutes=1e-9, keep=10))
    run_training(rd.path)
    assert [s for s, _ in rd.checkpoints()] == [1, 2, 3, 4]


def test_finetune_refuses_another_family_by_name(tmp_path, images):
    rd = _toy_run(tmp_path, images, steps=2)
    run_training(rd.path)
    cls = families.trainer_class("toy")
    opts = resolve(rd.read_options(), cls.defaults, cls.losses)
    trainer = cls(opts, prepare_data(opts, "flat"), torch.device("cpu"), RunContext(rd.path))
    with pytest.raises(CheckpointError, match="is a srvgg model, but a toy run fine-tunes stylegan2"):
        trainer.load_checkpoint_for_finetune(rd.latest_path, "stylegan2")
    model = trainer.load_checkpoint_for_finetune(rd.latest_path, ("esrgan", "srvgg"))
    assert model.family == "srvgg" and any("fine-tuning from latest.safetensors" in n for n in trainer.ctx.notes)


def test_tensorboard_gets_losses_and_samples_when_installed(tmp_path, images, monkeypatch):
    from engine.training import loop

    calls = []

    class FakeWriter:
        def __init__(self, folder):
            calls.append(("open", Path(folder).name))

        def add_scalar(self, tag, value, step):
            calls.append(("scalar", tag, step))

        def add_image(self, tag, image, step, dataformats):
            calls.append(("image", tag, image.shape, dataformats))

        def close(self):
            calls.append(("close",))

    monkeypatch.setattr(loop, "tensorboard_writer", FakeWriter)
    rd = _toy_run(tmp_path, images, steps=2)
    run_training(rd.path)
    assert calls[0] == ("open", "tensorboard") and calls[-1] == ("close",)
    assert ("scalar", "loss/G", 2) in calls and ("scalar", "images_per_s", 1) in calls
    assert any(c[0] == "image" and c[3] == "HWC" for c in calls)


def test_options_json_holds_the_resolved_options(tmp_path, images):
    rd = _toy_run(tmp_path, images, steps=1)
    assert rd.read_options().lr_g is None
    run_training(rd.path)
    stored = rd.read_options()
    assert stored.lr_g == 1e-3 and stored.betas == (0.5, 0.9) and stored.get("noise") == 0.05


def test_the_modules_the_gui_uses_do_not_import_torch():
    import subprocess
    import sys

    modules = ("engine.training.launcher", "engine.training.rundir", "engine.training.options",
               "engine.training.presets", "engine.training.families", "engine.data.folders")
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('torch' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_run_list_shows_state_and_latest(tmp_path, images):
    from engine.training.rundir import list_runs, run_info

    done = _toy_run(tmp_path / "a", images, steps=2)
    run_training(done.path)
    fresh = _toy_run(tmp_path / "b", images, steps=2)
    crashed = _toy_run(tmp_path / "c", images, steps=2)
    crashed.write_status("running", 1, 2)
    status = json.loads(crashed.status_path.read_text())
    crashed.status_path.write_text(json.dumps(status | {"pid": 2**22 + 12345}))  # no such process
    parent = tmp_path / "runs"
    parent.mkdir()
    for rd in (done, fresh, crashed):
        rd.path.rename(parent / rd.path.parent.name)
    infos = {info.path.name: info for info in list_runs(parent)}
    assert infos["a"].state == "done" and infos["a"].step == 2 and infos["a"].latest is not None
    assert infos["b"].state == "new" and infos["b"].latest is None and infos["b"].family == "toy"
    assert infos["c"].state == "interrupted"
    with pytest.raises(InputError, match="not a training run"):
        run_info(tmp_path)


def test_resume_skips_a_damaged_newest_checkpoint_and_says_so(tmp_path, images):
    rd = _toy_run(tmp_path, images, steps=4)
    run_training(rd.path)
    rd.state_path(4).write_bytes(b"damaged by a failing disk")
    rd.write_options(rd.read_options().replace(steps=5))
    result = run_training(rd.path, resume=True)
    assert result.state == "done" and result.step == 5
    notes = [r["message"] for r in read_progress(rd.progress_path) if r.get("event") == "note"]
    assert any("state_00000004.safetensors cannot be read" in n and "older checkpoint" in n for n in notes)
    resumed = [r for r in read_progress(rd.progress_path) if r.get("event") == "resume"]
    assert resumed[-1]["step"] == 2
