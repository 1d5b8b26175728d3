"""The options dialog: every open option at once, right widgets, presets, constraint, guesses shown,
answers remembered next to the file; the model loader asks it instead of guessing."""

from __future__ import annotations

import json

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QSpinBox

from engine.errors import MissingOptionError
from engine.open_options import (
    ASK_BEFORE_ASSUMING,
    label_layout_question,
    layout_channels,
    question_for_error,
    remember_options,
    sidecar_path,
)
from engine.types import ModelSummary
from gui.dialogs.options_dialog import MAX_WIDTH, OptionsDialog


def _ok(dialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_every_open_option_gets_its_widget_and_the_constraint_gates_ok(qtbot):
    question = label_layout_question("/models/latest_net_G.pth", 184, {})
    dialog = OptionsDialog(question)
    qtbot.addWidget(dialog)
    assert isinstance(dialog.editors["label_nc"], QSpinBox)
    assert isinstance(dialog.editors["contain_dontcare_label"], QCheckBox)
    assert isinstance(dialog.editors["no_instance"], QCheckBox)
    spin = dialog.editors["label_nc"]
    assert (spin.minimum(), spin.maximum()) == (182, 184)  # what 184 input channels allow
    spin.setValue(183)  # 183 + instance edge = 184: fits
    assert _ok(dialog).isEnabled()
    dialog.editors["contain_dontcare_label"].setChecked(True)  # 185: does not
    assert not _ok(dialog).isEnabled() and "184" in dialog.problem_label.text()
    assert list(dialog.preset_buttons) == ["COCO-Stuff"]  # only the dataset whose layout fits
    dialog.preset_buttons["COCO-Stuff"].click()
    values = dialog.values()
    assert values == {"label_nc": 182, "contain_dontcare_label": True, "no_instance": False, "label_set": "cocostuff"}
    assert layout_channels(182, True, False) == 184 and _ok(dialog).isEnabled()


def test_guesses_are_pre_filled_and_marked_and_long_text_wraps(qtbot):
    question = label_layout_question("/m/g.pth", 151, {}, {"label_nc": 150, "contain_dontcare_label": True,
                                                           "no_instance": True}, "x " * 600)
    dialog = OptionsDialog(question)
    qtbot.addWidget(dialog)
    dialog.show()
    assert all(spec.guessed for spec in question.options)
    assert dialog.values()["label_nc"] == 150 and dialog.values()["no_instance"] is True
    assert dialog.values()["label_set"] == "ade20k"
    assert dialog.width() <= MAX_WIDTH and dialog.summary_label.wordWrap()


def test_a_plain_missing_option_gets_a_one_option_question(qtbot):
    error = MissingOptionError("num_upsampling_layers must be given", option="num_upsampling_layers")
    question = question_for_error("/m/g.pth", error)
    assert [s.kind for s in question.options] == ["choice"]
    dialog = OptionsDialog(question)
    qtbot.addWidget(dialog)
    dialog.editors["num_upsampling_layers"].setCurrentText("more")
    assert dialog.values() == {"num_upsampling_layers": "more"}


def test_answers_are_remembered_in_the_sidecar_the_cli_reads(tmp_path):
    from engine.loaders.files import read_sidecar_options

    checkpoint = tmp_path / "latest_net_G.pth"
    checkpoint.write_bytes(b"")
    sidecar_path(checkpoint).write_text(json.dumps({"crop_size": 512}))
    remember_options(checkpoint, {"label_nc": 35, ASK_BEFORE_ASSUMING: True})
    assert read_sidecar_options(checkpoint) == {"crop_size": 512, "label_nc": 35}


def test_the_loader_asks_the_dialog_and_reloads_with_the_answers(qtbot, make_window, fake_engine, monkeypatch,
                                                                 tmp_path):
    checkpoint = tmp_path / "g.pth"
    checkpoint.write_bytes(b"")
    loads = []
    question = label_layout_question(str(checkpoint), 36, {})

    def handle(request, ctx):
        options = dict(request.model.options)
        loads.append(options)
        if "label_nc" not in options:
            raise MissingOptionError("label_nc cannot be read", option="label_nc", question=question)
        return ModelSummary(path=request.model.path, family="spade", source_format="spade-official", config=options,
                            parameter_count=1, networks=("netG",), capabilities=("synthesize",))

    fake_engine.worker._handler = handle
    window = make_window(fake_engine)

    def exec_dialog(dialog):
        dialog.apply_preset("Cityscapes")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(OptionsDialog, "exec", exec_dialog)
    window.model_loader.load(str(checkpoint))
    qtbot.waitUntil(lambda: window.models_panel.has_model, timeout=10_000)
    assert loads[0][ASK_BEFORE_ASSUMING] is True and "label_nc" not in loads[0]
    assert loads[1]["label_nc"] == 35 and loads[1]["contain_dontcare_label"] is False
    assert json.loads(sidecar_path(checkpoint).read_text())["label_set"] == "cityscapes"
