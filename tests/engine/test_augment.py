"""DiffAugment and ADA on the discriminator's inputs."""

import pytest
import torch

from engine.training.augment import AdaptiveAugment, DiffAugment, make_augment


def _image(n=4, size=16):
    torch.manual_seed(0)
    return torch.rand(n, 3, size, size) * 2 - 1


def test_diffaugment_is_differentiable_and_moves_the_condition_with_the_image():
    x = _image().requires_grad_(True)
    cond = x.detach().clone()
    out, out_cond = DiffAugment(("translation", "cutout"))(x, cond)
    assert out.shape == x.shape
    torch.testing.assert_close(out.detach(), out_cond)  # same geometry, no colour on cond
    assert not torch.equal(out.detach(), x.detach())
    out.sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    coloured = DiffAugment(("color",))(x.detach())
    assert not torch.allclose(coloured, x.detach())


def test_ada_geometry_is_shared_with_the_condition_and_colour_spares_it():
    x = _image()
    ada = AdaptiveAugment(p=1.0, fixed=True)
    out, cond = ada(x, x.clone())
    assert out.shape == x.shape and cond.shape == x.shape
    assert not torch.allclose(out, cond)  # colour changes the image only
    torch.manual_seed(3)
    geometric, geometric_cond = ada._translate(*ada._rotate90(*ada._xflip(x, x.clone())))
    torch.testing.assert_close(geometric, geometric_cond)


def test_ada_is_identity_at_p_zero_and_p_follows_the_sign_heuristic():
    x = _image()
    ada = AdaptiveAugment(p=0.0, interval=2, speed_kimg=0.01)
    assert torch.equal(ada(x), x)
    for step in range(4):
        ada.observe(torch.ones(8, 1))  # D sure of every real image: over-fitting
        ada.update(step)
    assert ada.p > 0
    high = ada.p
    for step in range(4, 8):
        ada.observe(-torch.ones(8, 1))
        ada.update(step)
    assert ada.p < high
    state = ada.state_dict()
    other = AdaptiveAugment()
    other.load_state_dict(state)
    assert other.p == ada.p


def test_make_augment_names():
    assert make_augment("none") is None
    assert isinstance(make_augment("ada"), AdaptiveAugment)
    assert isinstance(make_augment("diffaugment"), DiffAugment)
    with pytest.raises(ValueError):
        make_augment("mixup")
