"""One vocabulary for loader options (engine.loaders.options), tested once for every loader."""

from __future__ import annotations

import pytest

from engine.errors import CheckpointError, OptionValueError
from engine.loaders import options as opt


@pytest.mark.parametrize("word", [*opt.TRUE_WORDS, *(w.upper() for w in opt.TRUE_WORDS), " yes ", True, 1])
def test_true_words(word):
    assert opt.to_bool(word, "flag") is True


@pytest.mark.parametrize("word", [*opt.FALSE_WORDS, *(w.title() for w in opt.FALSE_WORDS), False, 0])
def test_false_words(word):
    assert opt.to_bool(word, "flag") is False


@pytest.mark.parametrize("word", ["", "ture", "flase", "2", 2, 0.5, "maybe", [True]])
def test_an_unknown_word_is_an_error_naming_the_option_and_the_words(word):
    with pytest.raises(OptionValueError) as info:
        opt.to_bool(word, "no_instance")
    message = str(info.value)
    assert info.value.option == "no_instance" and "no_instance" in message
    assert all(w in message for w in (*opt.TRUE_WORDS, *opt.FALSE_WORDS))
    assert isinstance(info.value, CheckpointError)  # callers that catch checkpoint errors see it


@pytest.mark.parametrize("value, expected", [(3, 3), ("3", 3), (" 12 ", 12), (4.0, 4), ("4.0", 4), (-1, -1)])
def test_whole_numbers(value, expected):
    assert opt.to_int(value, "label_nc") == expected


@pytest.mark.parametrize("value", [True, "three", 3.5, "3.5", "", None, float("nan")])
def test_not_whole_numbers(value):
    with pytest.raises(OptionValueError, match="label_nc.*whole number"):
        opt.to_int(value, "label_nc")


@pytest.mark.parametrize("value, expected", [(1, 1.0), ("0.5", 0.5), (2.25, 2.25)])
def test_numbers(value, expected):
    assert opt.to_float(value, "aspect_ratio") == expected


@pytest.mark.parametrize("value", [False, "wide", "inf", None])
def test_not_numbers(value):
    with pytest.raises(OptionValueError, match="aspect_ratio"):
        opt.to_float(value, "aspect_ratio")


def test_choices_are_case_insensitive_and_list_the_words():
    assert opt.to_choice(" Batch ", "norm", ("batch", "instance")) == "batch"
    with pytest.raises(OptionValueError, match="norm=.*one of batch, instance"):
        opt.to_choice("bach", "norm", ("batch", "instance"))


def test_absent_and_none_read_as_the_default():
    options = {"given": "on", "empty": None}
    assert opt.read_bool(options, "given") is True
    assert opt.read_bool(options, "empty", False) is False
    assert opt.read_bool(options, "absent") is None
    assert opt.read_int(options, "absent", 7) == 7
    assert opt.read_float(options, "absent", 0.01) == 0.01
    assert opt.read_choice(options, "absent", ("a",), "a") == "a"
    assert opt.read_text({"netG": " Resnet_9Blocks "}, "netG") == "resnet_9blocks"
    assert opt.read_text(options, "absent") == ""


def test_every_loader_reads_options_through_the_one_parser():
    """No loader keeps its own bool/int parsing (the five old parsers disagreed)."""
    import ast
    import inspect

    from engine.loaders import detect

    for module in detect.format_modules():
        tree = ast.parse(inspect.getsource(module))
        defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        own = defined & {"_bool", "_int", "_float", "_truthy", "as_bool", "as_int", "_opt_int"}
        assert not own, f"{module.__name__} parses options itself: {own}"


def test_basicsr_reads_a_boolean_option_as_a_boolean():
    """It used to cast with the type of the weights' value: bool("false") is True."""
    from engine.loaders import basicsr

    assert basicsr.decided({"flag": "false"}, "flag", False, "model.pth") is False
    with pytest.raises(CheckpointError, match="contradicts"):
        basicsr.decided({"flag": "true"}, "flag", False, "model.pth")
    with pytest.raises(OptionValueError, match="nf=.*whole number"):  # the name the user wrote
        basicsr.decided({"nf": "sixty-four"}, "num_feat", 64, "model.pth")
