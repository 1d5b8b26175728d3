"""SPADE's label layout: the loader asks (with its guess pre-filled) instead of assuming when told to."""

from __future__ import annotations

import pytest

from engine.errors import MissingOptionError
from engine.loaders.spade_official import resolve_label_layout
from engine.open_options import ASK_BEFORE_ASSUMING, layout_channels


def test_an_unknown_layout_raises_a_question_with_every_open_option():
    with pytest.raises(MissingOptionError) as caught:
        resolve_label_layout(12, {}, "g.pth", [])
    question = caught.value.question
    assert [s.name for s in question.options] == ["label_nc", "contain_dontcare_label", "no_instance"]
    assert question.channels == 12 and not any(s.guessed for s in question.options)
    assert question.presets == ()  # no official dataset has 12 input channels


def test_the_released_layout_is_assumed_with_a_note_but_asked_for_when_the_gui_loads():
    notes: list[str] = []
    assert resolve_label_layout(151, {}, "g.pth", notes) == (150, True, True) and notes
    with pytest.raises(MissingOptionError) as caught:
        resolve_label_layout(151, {ASK_BEFORE_ASSUMING: True}, "g.pth", [])
    question = caught.value.question
    guessed = {s.name: s.value for s in question.options if s.guessed}
    assert guessed == {"label_nc": 150, "contain_dontcare_label": True, "no_instance": True}
    assert [p.name for p in question.presets] == ["ADE20K"] and question.label_set == "ade20k"


def test_a_split_guess_is_asked_for_and_given_options_are_not_marked_guessed():
    with pytest.raises(MissingOptionError) as caught:
        resolve_label_layout(9, {"label_nc": 8, ASK_BEFORE_ASSUMING: True}, "g.pth", [])
    specs = {s.name: s for s in caught.value.question.options}
    assert specs["label_nc"].value == 8 and not specs["label_nc"].guessed
    assert specs["no_instance"].guessed and specs["contain_dontcare_label"].guessed
    answer = {name: spec.value for name, spec in specs.items()}
    assert layout_channels(**answer) == 9
    # confirmed: every option given, nothing assumed, nothing asked
    assert resolve_label_layout(9, {**answer, ASK_BEFORE_ASSUMING: True}, "g.pth", []) == (8, False, False)
