"""The world's judges and `gan-studio evaluate`: judges load strictly and run on tiny inputs,
metrics behave as defined, and every family's metric path runs on a tiny random model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from engine.data.world import BIOME_NAMES, CLASS_NAMES, HELD_OUT_START, render, render_batch
from engine.errors import CheckpointError, InputError
from engine.eval import metrics
from engine.eval.evaluate import Report, evaluate, hole_mask
from engine.eval.judges import JUDGES_DIR, load_judge, save_judge, shipped
from engine.eval.nets import BiomeClassifier, Segmenter
from engine.models.loaded import LoadedModel

# --------------------------------------------------------------------------------------------
# judges


def test_shipped_judges_load_strictly_and_name_their_ceilings():
    seg, clf = shipped("segmenter"), shipped("classifier")
    assert seg.info["classes"] == list(CLASS_NAMES)
    assert clf.info["classes"] == list(BIOME_NAMES)
    for judge in (seg, clf):
        assert judge.info["ceiling"]["seeds"][0] >= HELD_OUT_START  # measured on held-out seeds only
        assert judge.info["trained_on"]["seeds"][1] < HELD_OUT_START
    assert 0 < seg.info["ceiling"]["pixel_accuracy"] <= 1 and 0 < seg.info["ceiling"]["mean_iou"] <= 1
    assert 0 < clf.info["ceiling"]["accuracy"] <= 1
    total = sum(p.stat().st_size for p in JUDGES_DIR.glob("*.safetensors"))
    assert total < 8 * 2**20


def test_judges_run_on_tiny_inputs():
    labels, images, biomes = render_batch(range(HELD_OUT_START, HELD_OUT_START + 3), 32)
    seg, clf = shipped("segmenter").net, shipped("classifier").net
    predicted = metrics.segment(seg, images)
    assert predicted.shape == (3, 128, 128) and predicted.max() < len(CLASS_NAMES)
    assert metrics.classify(clf, images).shape == (3,)
    assert metrics.features(clf, images).shape == (3, clf.config.feature_dim)
    as_tensor = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert (metrics.classify(clf, as_tensor) == metrics.classify(clf, images)).all()


def test_a_judge_file_round_trips_and_a_wrong_one_is_refused(tmp_path):
    net = Segmenter()
    path = save_judge("segmenter", net, {"classes": list(CLASS_NAMES)}, tmp_path / "s.safetensors")
    loaded = load_judge("segmenter", path)
    for (k, a), (_, b) in zip(net.state_dict().items(), loaded.net.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(CheckpointError, match="not a classifier"):
        load_judge("classifier", path)
    with pytest.raises(CheckpointError, match="missing.*train_judges"):
        load_judge("classifier", tmp_path / "none.safetensors")
    save_judge("classifier", BiomeClassifier(), {}, tmp_path / "c.safetensors")
    assert isinstance(load_judge("classifier", tmp_path / "c.safetensors").net, BiomeClassifier)


# --------------------------------------------------------------------------------------------
# metrics


def test_segmentation_scores_from_a_known_confusion():
    truth = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    scores = metrics.scores_from_confusion(metrics.confusion(pred, truth, 3))
    assert scores["pixel_accuracy"] == pytest.approx(3 / 4)
    assert scores["mean_iou"] == pytest.approx((1 / 2 + 2 / 3) / 2)  # class 2 is absent from both


def test_frechet_distance_is_zero_for_the_same_set_and_the_squared_mean_shift_for_a_shifted_one():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 8))
    assert metrics.frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    shift = np.full(8, 0.5)
    assert metrics.frechet_distance(a + shift, a) == pytest.approx(float(shift @ shift), rel=1e-6)


def test_image_metrics():
    _, image, _ = render(HELD_OUT_START, 64)
    noisy = np.clip(image.astype(int) + np.random.default_rng(0).integers(-8, 9, image.shape), 0, 255).astype(np.uint8)
    assert metrics.psnr(image, image) == math.inf
    assert 25 < metrics.psnr(noisy, image) < 40
    assert metrics.ssim(image, image) == pytest.approx(1.0)
    assert metrics.ssim(noisy, image) < 1.0
    mask = hole_mask(0, 64, 64)
    assert metrics.psnr(noisy, image, mask) < math.inf
    assert metrics.ms_ssim(image, image) == pytest.approx(1.0)
    other = render(HELD_OUT_START + 1, 64)[1]
    assert metrics.ms_ssim(image, other) < metrics.ms_ssim(image, noisy) < 1.0
    y = metrics.luma(np.full((2, 2, 3), 255, np.uint8))
    assert y == pytest.approx(np.full((2, 2), 235.0))


def test_hole_masks_are_fixed_per_index_and_cover_part_of_the_image():
    a, b = hole_mask(3, 96, 80), hole_mask(3, 96, 80)
    assert (a == b).all() and a.shape == (96, 80)
    assert 0.04 < a.mean() < 0.4
    assert not (hole_mask(4, 96, 80) == a).all()


# --------------------------------------------------------------------------------------------
# every family on a tiny random model


def _check(report: Report, family: str) -> None:
    assert report.family == family and report.metrics
    assert report.seeds[0] >= HELD_OUT_START
    for m in report.metrics:
        assert math.isfinite(m.value), m
        assert m.reference is not None or m.baselines, m


@pytest.fixture(scope="module")
def tiny_spade() -> LoadedModel:
    from tests.engine.test_paint_spade import tiny_model

    return tiny_model(label_nc=len(CLASS_NAMES), contain_dontcare_label=False, crop_size=64)


def test_spade_fcn_score(tiny_spade):
    report = evaluate(tiny_spade, n=2)
    _check(report, "spade")
    names = [m.name for m in report.metrics]
    assert names[:2] == ["FCN pixel accuracy", "FCN mean IoU"]
    acc = report.metrics[0]
    assert 0 <= acc.value <= 1 and 0 < acc.reference <= 1 and acc.reference_kind == "ceiling"
    # the ceiling is the segmenter on the real images of the same held-out seeds
    labels, images, _ = render_batch([HELD_OUT_START, HELD_OUT_START + 1], 64)
    real = metrics.segmentation_scores(shipped("segmenter").net, images, labels)
    assert acc.reference == pytest.approx(real["pixel_accuracy"])


def test_paint_models_of_another_label_set_are_refused():
    from tests.engine.test_paint_spade import tiny_model

    with pytest.raises(InputError, match="16 classes"):
        evaluate(tiny_model(label_nc=6), n=2)


def test_pix2pixhd_fcn_score():
    from tests.engine.test_paint_translate import _hd

    report = evaluate(_hd(label_nc=len(CLASS_NAMES)), n=2)
    _check(report, "pix2pixhd")


def test_stylegan2_world_feature_distance_next_to_its_floor():
    from tests.engine.test_stylegan2 import tiny_generator

    G = tiny_generator().requires_grad_(False)
    model = LoadedModel(path="tiny", family="stylegan2", source_format="test", config=G.config, networks={"G": G})
    report = evaluate(model, n=16)
    _check(report, "stylegan2")
    wfd = report.metrics[0]
    assert "WFD" in wfd.name and "FID" not in wfd.name and wfd.reference_kind == "floor"
    assert wfd.value > wfd.reference >= 0  # random weights are far from the world; two world sets are close
    assert report.seeds == (HELD_OUT_START, HELD_OUT_START + 31)


def test_biggan_accuracy_per_biome_and_diversity():
    from engine.models.biggan import BigGANConfig, build_networks

    config = BigGANConfig(output_dim=16, z_dim=8, class_embed_dim=8, channel_width=8, num_classes=len(BIOME_NAMES),
                          layers=((False, 4, 4), (True, 4, 2), (True, 2, 1)), attention_layer_position=2, n_stats=51)
    torch.manual_seed(0)
    G = build_networks(config)["G"].eval().requires_grad_(False)
    model = LoadedModel(path="tiny", family="biggan", source_format="test", config=config, networks={"G": G})
    report = evaluate(model, n=2 * len(BIOME_NAMES))
    _check(report, "biggan")
    names = [m.name for m in report.metrics]
    assert names[0].startswith("classification accuracy") and names[-1].startswith("same-class MS-SSIM")
    assert [n.removeprefix("classified as ") for n in names[1:-1]] == list(BIOME_NAMES)
    assert all(0 <= m.value <= 1 for m in report.metrics)
    assert report.metrics[0].reference > 0.5  # the classifier knows real scenes of the biome asked for
    from engine.eval.evaluate import held_out_seeds_of_biome

    for b in range(len(BIOME_NAMES)):
        seeds = held_out_seeds_of_biome(b, 3)
        assert all(s >= HELD_OUT_START and s % len(BIOME_NAMES) == b for s in seeds)

    wrong = BigGANConfig(output_dim=16, z_dim=8, class_embed_dim=8, channel_width=8, num_classes=5,
                         layers=config.layers, attention_layer_position=2, n_stats=51)
    other = LoadedModel(path="tiny", family="biggan", source_format="test", config=wrong,
                        networks={"G": build_networks(wrong)["G"].eval()})
    with pytest.raises(InputError, match="biomes"):
        evaluate(other, n=4)


def test_context_encoder_hole_metrics_next_to_mean_fill_and_biharmonic():
    from engine.models.context_encoder import build_networks
    from tests.engine.test_context_encoder import tiny

    config = tiny(resolution=32)
    torch.manual_seed(0)
    nets = {k: v.eval().requires_grad_(False) for k, v in build_networks(config).items()}
    model = LoadedModel(path="tiny", family="context_encoder", source_format="test", config=config, networks=nets)
    report = evaluate(model, n=2)
    _check(report, "context_encoder")
    psnr_row = report.metrics[0]
    assert set(psnr_row.baselines) == {"mean colour fill", "biharmonic (scikit-image)"}
    # biharmonic inpainting of smooth world scenes beats a flat mean colour
    assert psnr_row.baselines["biharmonic (scikit-image)"] > psnr_row.baselines["mean colour fill"]


@pytest.fixture(scope="module")
def tiny_sr(tmp_path_factory):
    from engine.loaders import native
    from engine.models import srvgg

    torch.manual_seed(0)
    config = srvgg.SRVGGConfig(num_feat=8, num_conv=2, upscale=2, act_type="prelu")
    nets = {k: v.eval() for k, v in srvgg.build_networks(config).items()}
    model = LoadedModel(path="tiny", family="srvgg", source_format="test", config=config, networks=nets)
    return native.save(model, tmp_path_factory.mktemp("sr") / "sr.safetensors")


def test_super_resolution_psnr_and_ssim_next_to_bicubic(tiny_sr):
    from engine.loaders import load_model

    report = evaluate(load_model(tiny_sr), n=2)
    _check(report, "srvgg")
    psnr_row, gain, ssim_row = report.metrics
    assert psnr_row.reference_name == "bicubic" and psnr_row.unit == "dB"
    assert gain.value == pytest.approx(psnr_row.value - psnr_row.reference)
    assert 0 < ssim_row.reference <= 1


def test_super_resolution_on_a_folder_of_images(tiny_sr, tmp_path):
    from engine.imageio import write_png
    from engine.loaders import load_model

    for i in range(3):
        write_png(tmp_path / f"{i}.png", render(HELD_OUT_START + i, 40)[1])
    report = evaluate(load_model(tiny_sr), n=3, images_dir=tmp_path)
    assert report.n == 3 and str(tmp_path) in report.notes[0]
    with pytest.raises(InputError, match="not a folder"):
        evaluate(load_model(tiny_sr), n=3, images_dir=tmp_path / "missing")


def test_families_without_a_world_metric_and_bad_n_are_refused(tiny_sr):
    from engine.loaders import load_model
    from tests.engine.test_paint_translate import _model
    from engine.models import cyclegan

    model = load_model(tiny_sr)
    with pytest.raises(InputError, match="--n"):
        evaluate(model, n=1)
    with pytest.raises(InputError, match="--n"):
        evaluate(model, n=10**9)
    cycle = _model("cyclegan_resnet", cyclegan, cyclegan.CycleGANResnetConfig(ngf=2, n_blocks=1))
    with pytest.raises(InputError, match="no world metric"):
        evaluate(cycle, n=2)


def test_evaluate_command_prints_a_table_and_json(tiny_sr, capsys):
    from engine.cli import main

    assert main(["evaluate", str(tiny_sr), "--n", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["family"] == "srvgg" and data["held_out_seeds"][0] == HELD_OUT_START
    assert {m["name"] for m in data["metrics"]} >= {"PSNR (Y) x2", "SSIM (Y) x2"}
    assert main(["evaluate", str(tiny_sr), "--n", "2"]) == 0
    table = capsys.readouterr().out
    assert "PSNR (Y) x2" in table and "baseline: bicubic" in table
    assert main(["evaluate", str(tiny_sr), "--n", "0"]) == 1
    assert "--n 0 is out of range" in capsys.readouterr().err


def test_a_classifier_trained_in_another_biome_order_is_aligned_by_name():
    from engine.eval.train_judges import align_classifier

    torch.manual_seed(0)
    net = BiomeClassifier().eval()
    trained_order = list(reversed(BIOME_NAMES))
    x = torch.randn(2, 3, 64, 64)
    before = net(x)
    assert align_classifier(net, trained_order)
    after = net(x)
    for j, name in enumerate(BIOME_NAMES):
        assert torch.allclose(after[:, j], before[:, trained_order.index(name)])
    assert not align_classifier(net, list(BIOME_NAMES))
    with pytest.raises(ValueError, match="biomes"):
        align_classifier(net, ["a"] * len(BIOME_NAMES))
