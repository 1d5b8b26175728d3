"""The shared layers: one spectral norm that trains like torch's and loads official state."""

import torch

from engine.models.layers import EqualizedConv2d, SNConv2d, SNLinear, spectral_sigmas


def test_training_matches_torch_spectral_norm_step_by_step():
    torch.manual_seed(0)
    ref = torch.nn.utils.spectral_norm(torch.nn.Conv2d(3, 5, 3, padding=1))
    ours = SNConv2d(3, 5, 3)
    ours.load_state_dict(ref.state_dict(), strict=True)
    ref.train(), ours.train()
    opt_ref = torch.optim.SGD(ref.parameters(), lr=0.1)
    opt_ours = torch.optim.SGD(ours.parameters(), lr=0.1)
    for _ in range(3):
        x = torch.randn(2, 3, 6, 6)
        for net, opt in ((ref, opt_ref), (ours, opt_ours)):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
    for key, value in ref.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, atol=1e-6, rtol=1e-5)


def test_a_layer_may_run_twice_before_backward_in_training():
    layer = SNLinear(4, 3)
    layer.train()
    out = layer(torch.randn(2, 4)).sum() + layer(torch.randn(2, 4)).sum()
    out.backward()  # the in-place update of u/v must not break the first graph
    assert layer.weight_orig.grad is not None


def test_eval_uses_stored_vectors_and_sigma_is_positive():
    layer = SNConv2d(2, 4, 1, bias=False)
    layer.eval()
    u = layer.weight_u.clone()
    with torch.no_grad():
        layer(torch.randn(1, 2, 3, 3))
    assert torch.equal(u, layer.weight_u)
    assert all(s > 0 for s in spectral_sigmas(torch.nn.Sequential(layer)).values())
    with torch.no_grad():
        expected = layer.weight_orig / layer.sigma()
        torch.testing.assert_close(layer.weight, expected)


def test_equalized_conv_keeps_unit_variance_roughly():
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 64, 3)
    with torch.no_grad():
        y = conv(torch.randn(4, 64, 16, 16))
    assert 0.7 < float(y.std()) < 1.3
