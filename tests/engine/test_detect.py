"""The format of a file is decided once, in detect: each sniff claims only its own files."""

from __future__ import annotations

import pytest
import torch

from engine.errors import MissingOptionError
from engine.loaders import detect, pix2pix_cyclegan_official, pix2pixhd_official
from engine.loaders.files import read_checkpoint
from engine.models import cyclegan


@pytest.fixture
def lone_resnet_generator(tmp_path):
    """A tiny CycleGAN ResNet generator saved as an official ``latest_net_G.pth`` state dict:
    the layout pix2pixHD's global generator shares."""
    config = cyclegan.CycleGANResnetConfig(ngf=4, n_blocks=1, networks=("G",), primary_network="G")
    torch.manual_seed(0)
    net = cyclegan.build_networks(config)["G"]
    path = tmp_path / "latest_net_G.pth"
    torch.save(net.state_dict(), path)
    return read_checkpoint(path)


@pytest.mark.parametrize("options, claimed_by", [
    ({"model": "cycle_gan"}, pix2pix_cyclegan_official),
    ({"netG": "resnet_9blocks"}, pix2pix_cyclegan_official),
    ({"model": "pix2pixHD"}, pix2pixhd_official),
    ({"label_nc": 2}, pix2pixhd_official),
])
def test_each_resnet_sniff_claims_only_its_own_verdict(lone_resnet_generator, options, claimed_by):
    modules = (pix2pix_cyclegan_official, pix2pixhd_official)
    claims = [m for m in modules if m.sniff(lone_resnet_generator, options)]
    assert claims == [claimed_by]
    assert detect.detect(lone_resnet_generator, options) is claimed_by


def test_an_undecidable_resnet_generator_asks_for_the_model_option(lone_resnet_generator):
    with pytest.raises(MissingOptionError) as info:
        detect.detect(lone_resnet_generator, {})
    assert info.value.option == "model"


def test_the_resnet_formats_do_not_hand_files_to_each_other():
    """Neither ResNet format module imports the other (the old hand-off was an import cycle)."""
    import ast
    import inspect

    pair = {"pix2pixhd_official", "pix2pix_cyclegan_official"}
    for module in (pix2pix_cyclegan_official, pix2pixhd_official):
        imported = set()
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.rsplit(".", 1)[-1])
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name.rsplit(".", 1)[-1] for alias in node.names)
        own = module.__name__.rsplit(".", 1)[1]
        assert not imported & (pair - {own}), module.__name__
