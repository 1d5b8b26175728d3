"""The Paint workspace's session: strokes, undo of changed rectangles, live requests."""

from __future__ import annotations

import numpy as np
import pytest

from engine.types import ModelSummary, SynthesizeRequest, SynthesizeResult
from gui.document import DocumentModel
from gui.paint.session import PaintSession


class FakeBridge:
    def __init__(self):
        self.submitted = []

    def submit(self, request, channel=None, on_result=None, on_error=None, **_):
        self.submitted.append((request, channel, on_result, on_error))


def _summary(label_nc=5, label_set=None):
    return ModelSummary(path="/models/fake.pth", family="spade", source_format="spade-official",
                        config={"label_nc": label_nc, "crop_size": 64, "aspect_ratio": 2.0},
                        parameter_count=1, networks=("G",), capabilities=("label_map",), label_set=label_set)


@pytest.fixture
def session(qtbot):
    docs = DocumentModel()
    bridge = FakeBridge()
    session = PaintSession(bridge, docs)
    session.set_model(_summary(label_set={"name": "tiny", "label_nc": 5, "classes": [{"index": 1, "name": "sky", "color": [0, 0, 255]}]}))
    return session


def test_model_creates_a_label_layer_of_its_size_and_palette(session):
    layer = session.label_layer()
    assert layer is not None and layer.pixels.shape == (32, 64) and layer.pixels.dtype == np.int32
    assert session.palette.names[1] == "sky" and tuple(session.palette.colors[1]) == (0, 0, 255)
    assert len(session.palette) == 5


def test_a_stroke_is_one_undo_step_storing_only_its_rectangle(session):
    stack = session.docs.undo_stack
    before_count = stack.count()
    session.brush.class_index = 3
    session.brush.size = 4
    session.begin_stroke(5, 5)
    for x in range(6, 20):
        session.move_stroke(x, 5)
    session.end_stroke(20, 5)
    labels = session.labels()
    assert stack.count() == before_count + 1
    command = stack.command(stack.count() - 1)
    x0, y0, x1, y1 = command.rect
    assert (x1 - x0) * (y1 - y0) < labels.size / 4
    assert command.before.shape == (y1 - y0, x1 - x0)
    painted = labels.copy()
    assert (painted == 3).sum() > 20
    stack.undo()
    assert (session.labels() == 3).sum() == 0
    stack.redo()
    assert np.array_equal(session.labels(), painted)


def test_every_edit_submits_on_the_paint_channel_newest_wins(session, qtbot):
    bridge = session.bridge
    bridge.submitted.clear()
    session.brush.class_index = 2
    session.begin_stroke(10, 10)
    session.move_stroke(12, 12)
    session.end_stroke(12, 12)
    assert bridge.submitted and all(channel == "paint" for _r, channel, *_ in bridge.submitted)
    request = bridge.submitted[-1][0]
    assert isinstance(request, SynthesizeRequest)
    assert np.array_equal(request.label_map, session.labels())
    assert request.label_map is not session.labels()  # a snapshot: painting on never races the engine


def test_result_carries_a_recipe(session, tmp_path):
    model_file = tmp_path / "fake.pth"
    model_file.write_bytes(b"weights")
    session.model = ModelSummary(**{**session.model.__dict__, "path": str(model_file)})
    session.set_seed(42)
    session.render_now()
    request, _channel, on_result, _ = session.bridge.submitted[-1]
    received = []
    session.rendered.connect(received.append)
    on_result(SynthesizeResult(image=np.zeros((32, 64, 3), np.uint8), duration_s=0.1, seed=42))
    recipe = received[0].recipe
    assert recipe["seed"] == 42 and recipe["style"] == "random" and recipe["model"] == str(model_file)
    assert len(recipe["checkpoint_sha256"]) == 64 and recipe["app"] == "GAN Studio"


def test_fill_rect_line_picker_eraser(session):
    session.brush.tool = "rect"
    session.brush.class_index = 2
    session.begin_stroke(2, 2)
    session.move_stroke(30, 10)
    session.move_stroke(10, 6)  # the preview shrinks back
    session.end_stroke(10, 6)
    labels = session.labels()
    assert (labels[2:7, 2:11] == 2).all() and (labels == 2).sum() == 9 * 5
    session.brush.tool = "picker"
    session.brush.class_index = 0
    session.begin_stroke(3, 3)
    assert session.brush.class_index == 2
    session.brush.tool = "fill"
    session.brush.class_index = 4
    session.begin_stroke(3, 3)
    assert (labels[2:7, 2:11] == 4).all()
    session.brush.tool = "eraser"
    session.brush.eraser_class = 1
    session.brush.size = 3
    session.begin_stroke(5, 4)
    session.end_stroke(5, 4)
    assert labels[4, 5] == 1


def test_instance_brush_paints_instance_ids(session):
    session.brush.tool = "instance"
    session.brush.instance_id = 7
    session.begin_stroke(20, 20)
    session.end_stroke(20, 20)
    layer = session.label_layer()
    assert layer.instances is not None and layer.instances[20, 20] == 7
    assert (layer.pixels == 0).all()
    session.docs.undo_stack.undo()
    assert (layer.instances == 0).all()
