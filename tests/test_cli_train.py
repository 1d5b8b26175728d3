"""gan-studio train: --help, --check, a run through the launcher with the progress bar, Ctrl-C,
and refusing another family's run directory."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import cli
from engine.commands import train as train_cmd
from engine.training import launcher
from engine.training.rundir import RunDir, read_progress
from tests.engine import training_toy

TOY_SCRIPT = str(Path(training_toy.__file__).resolve())


@pytest.fixture
def toy_entry(monkeypatch):
    """Run processes start the toy script (which registers the test-only "toy" family)."""
    monkeypatch.setattr(launcher, "DEFAULT_ENTRY", (TOY_SCRIPT,))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return training_toy.write_images(tmp_path_factory.mktemp("cli_images"))


def test_help_lists_families_presets_and_layouts(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = capsys.readouterr().out
    for word in ("spade", "pix2pixhd", "pix2pix", "cyclegan", "stylegan2", "biggan", "context_encoder", "esrgan",
                 "finetune-stylegan2", "spade-pairs", "upscaler-textures", "paired", "flat", "classes", "unpaired",
                 "--nproc", "--resume", "--from", "--check"):
        assert word in text


def test_check_reports_and_sets_the_exit_status(tmp_path, capsys, images):
    assert cli.main(["train", "stylegan2", "--data", str(images), "--check"]) == 0
    out = capsys.readouterr().out
    assert "6 images" in out and "OK" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["train", "stylegan2", "--data", str(empty), "--check"]) == 1
    assert "holds no images" in capsys.readouterr().out
    bad = tmp_path / "pairs"
    (bad / "images").mkdir(parents=True)
    assert cli.main(["train", "spade", "--data", str(bad), "--check"]) == 1
    assert "neither labels/ nor inputs/" in capsys.readouterr().out


def test_train_runs_in_its_own_process_and_resumes(tmp_path, capsys, images, toy_entry):
    out = tmp_path / "run"
    args = ["train", "toy", "--data", str(images), "--out", str(out), "--steps", "3", "--threads", "1",
            "--checkpoint-every", "2", "--set", "noise=0.1"]
    assert cli.main(args) == 0
    captured = capsys.readouterr()
    assert "done at step 3" in captured.out and str(out / "latest.safetensors") in captured.out
    assert "3/3 100%" in captured.err and "img/s" in captured.err and "ETA" in captured.err
    rd = RunDir(out)
    assert rd.read_options().get("noise") == 0.1 and rd.read_status()["state"] == "done"
    # the same folder again is refused unless resumed; resuming with more steps continues
    assert cli.main(args) == 1
    assert "already holds a toy run" in capsys.readouterr().err
    assert cli.main(["train", "stylegan2", "--out", str(out), "--resume"]) == 1
    assert "holds a toy run, not stylegan2" in capsys.readouterr().err
    assert cli.main(["train", "--out", str(out), "--resume", "--steps", "5", "--threads", "1"]) == 0
    assert rd.read_status()["step"] == 5


def test_ctrl_c_stops_the_run_with_a_final_checkpoint(tmp_path, capsys, images, toy_entry, monkeypatch):
    out = tmp_path / "run"
    rd = RunDir(out)

    class CtrlCOnceTrainingRuns:
        """time for the CLI: the first wait after a progress line raises KeyboardInterrupt (a Ctrl-C)."""

        pressed = False

        @staticmethod
        def sleep(seconds):
            if not CtrlCOnceTrainingRuns.pressed and any(r["kind"] == "log" for r in read_progress(rd.progress_path)):
                CtrlCOnceTrainingRuns.pressed = True
                raise KeyboardInterrupt
            time.sleep(seconds)

    monkeypatch.setattr(train_cmd, "time", CtrlCOnceTrainingRuns)
    code = cli.main(["train", "toy", "--data", str(images), "--out", str(out), "--steps", "500", "--threads", "1",
                     "--set", "sleep_s=0.05"])
    assert code == 0 and CtrlCOnceTrainingRuns.pressed
    assert "stopping after this step" in capsys.readouterr().err
    status = rd.read_status()
    assert status["state"] == "stopped" and status["step"] < 500
    assert rd.checkpoints()[-1][0] == status["step"]


def test_prepare_only_creates_the_run_folder(tmp_path, capsys, images):
    out = tmp_path / "run"
    assert cli.main(["train", "stylegan2", "--data", str(images), "--out", str(out), "--steps", "7", "--prepare"]) == 0
    assert "python -m engine.training.run" in capsys.readouterr().out
    opts = RunDir(out).read_options()
    assert opts.family == "stylegan2" and opts.steps == 7 and opts.data == (str(images.resolve()),)
    assert not RunDir(out).checkpoints() and not (out / "progress.jsonl").exists()


def test_progress_line_format():
    line = train_cmd.format_progress({"step": 50, "steps": 200, "losses": {"G": 0.5, "D": 1.25},
                                      "images_per_s": 12.5, "eta_s": 125}, width=8)
    assert line == "[##......] 50/200 25% | G 0.5 D 1.25 | 12.5 img/s | ETA 2m05s"
    assert train_cmd.format_duration(3725) == "1h02m" and train_cmd.format_duration(None) == "?"


def test_bad_dataset_stops_the_start_before_the_run_folder_is_made(tmp_path, capsys):
    root = tmp_path / "pairs"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "images" / "a.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "labels" / "a.png")
    code = cli.main(["train", "pix2pix", "--data", str(root), "--out", str(tmp_path / "run"), "--resolution", "8"])
    assert code == 1
    assert "labels must be 8-bit grey/palette" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_vae_flag_turns_on_spades_style_encoder_and_only_spades(tmp_path, images):
    parser = cli.build_parser()
    args = parser.parse_args(["train", "spade", "--data", str(images), "--out", str(tmp_path / "run"), "--vae"])
    assert train_cmd._options(args, "spade", None).extra["vae"] is True
    plain = parser.parse_args(["train", "spade", "--data", str(images), "--out", str(tmp_path / "run")])
    assert "vae" not in train_cmd._options(plain, "spade", None).extra
    assert cli.main(["train", "stylegan2", "--data", str(images), "--out", str(tmp_path / "sg"), "--vae", "--prepare"]) == 1
    assert not (tmp_path / "sg").exists()
