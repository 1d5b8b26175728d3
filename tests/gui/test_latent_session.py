"""The Latent explorer's session, settings and helpers, on a scripted bridge (no engine)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import EngineError
from engine.latent_types import DirectionsRequest, DirectionsResult, LatentSampleRequest, LatentSampleResult
from engine.types import ModelSummary
from gui.document import DocumentModel
from gui.latent import model_info
from gui.latent.session import LATENT_CHANNEL, LatentSession
from gui.latent.settings import LatentSettings, MixSource
from gui.latent.workspace import LatentWorkspaceController

NUM_WS, W_DIM = 8, 4


class ScriptedBridge:
    """Records submits; ``answer(i, result)`` delivers a result the way the bridge would."""

    def __init__(self):
        self.submitted = []

    def submit(self, request, channel=None, on_result=None, on_error=None, on_cancel=None, **_):
        self.submitted.append({"request": request, "channel": channel, "on_result": on_result, "on_error": on_error})

    def of(self, kind, channel="any"):
        return [s for s in self.submitted if isinstance(s["request"], kind) and (channel == "any" or s["channel"] == channel)]


def seed_ws(seed: int) -> np.ndarray:
    return np.full((NUM_WS, W_DIM), float(seed), np.float32)


def result_for(request: LatentSampleRequest) -> LatentSampleResult:
    ws = request.ws if request.ws is not None else seed_ws(request.seed)
    return LatentSampleResult(image=np.full((8, 8, 3), int(np.asarray(ws).mean()) % 256, np.uint8),
                              ws=np.asarray(ws, np.float32), duration_s=0.01, seed=request.seed)


def summary(c_dim=0, label_set=None, family="stylegan2", capabilities=("latent", "truncation", "style_mixing")):
    return ModelSummary(path="/models/ffhq.pkl", family=family, source_format="stylegan2-ada-pkl",
                        config={"z_dim": 4, "w_dim": W_DIM, "c_dim": c_dim, "img_resolution": 32},
                        parameter_count=1, networks=("G",), capabilities=capabilities, label_set=label_set)


@pytest.fixture
def session(qtbot):
    docs = DocumentModel()
    bridge = ScriptedBridge()
    session = LatentSession(bridge, docs)
    session.set_model(summary())
    return session


def deliver_latest(session):
    job = session.bridge.of(LatentSampleRequest, LATENT_CHANNEL)[-1]
    job["on_result"](result_for(job["request"]))
    return job["request"]


# ------------------------------------------------------------------ helpers


def test_layer_ranges_presets_and_runs():
    assert model_info.num_layers(summary()) == 8
    assert model_info.preset_range("coarse", 18) == (0, 4) and model_info.preset_range("fine", 18) == (9, 18)
    assert model_info.preset_range("coarse", 2) == (0, 1)  # never empty
    assert model_info.parse_range("4-8", 18) == (4, 8) and model_info.parse_range("8-", 18) == (8, 18)
    assert model_info.parse_range("fine", 8) == (4, 8) and model_info.parse_range("3", 8) == (3, 4)
    with pytest.raises(ValueError, match="outside"):
        model_info.parse_range("6-30", 8)
    assert model_info.runs([5, 0, 1, 2, 7]) == [(0, 3), (5, 6), (7, 8)]


def test_grid_neighbours_are_bilinear_weights_of_grid_seeds():
    assert model_info.grid_neighbours(42, 0) == [(42, 1.0)]
    weights = dict(model_info.grid_neighbours(42.25, 1.5))
    stride = model_info.GRID_STRIDE
    assert weights == pytest.approx({42 + stride: 0.375, 43 + stride: 0.125, 42 + 2 * stride: 0.375, 43 + 2 * stride: 0.125})
    assert model_info.grid_seed(-1, 0) == 2**32 - 1


def test_settings_round_trip_and_damaged_input():
    settings = LatentSettings(seed_x=3.5, seed_y=-1.0, psi=0.5, cutoff=4, class_index=2, class_mix={1: 0.3, 2: 0.7},
                              noise_mode="random", noise_seed=9, mix=[MixSource(77, (4, 5))], pca={0: 1.5},
                              pca_layers={0: (2, 6)}, named={"smile": 0.5})
    back = LatentSettings.from_dict(settings.to_dict())
    assert back.to_dict() == settings.to_dict()
    cli = LatentSettings.from_dict({"seed": 12, "psi": 0.7, "mix": [[5, 4, None]], "noise_mode": "none"})
    assert cli.seed == 12 and cli.mix[0].seed == 5 and cli.mix[0].layers[0] == 4 and cli.noise_mode == "none"
    with pytest.raises(ValueError, match="damaged"):
        LatentSettings.from_dict({"seed_grid": ["a", 0]})
    with pytest.raises(ValueError):
        LatentSettings.from_dict({"seed": 2**40})


def test_array_text_round_trip_is_exact():
    a = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(model_info.array_from_text(model_info.array_to_text(a)), a)


# ------------------------------------------------------------------ the session


def test_model_load_requests_a_render_and_directions(session):
    request = session.bridge.of(LatentSampleRequest, LATENT_CHANNEL)[-1]["request"]
    assert request.seed == 0 and request.psi == pytest.approx(0.7) and request.ws is None and request.class_index is None
    assert session.bridge.of(DirectionsRequest)
    assert LatentWorkspaceController.accepts(summary()) and LatentWorkspaceController.accepts(
        summary(family="biggan", capabilities=("latent", "truncation", "class_conditional", "class_mixing")))
    assert not LatentWorkspaceController.accepts(summary(family="spade", capabilities=("label_map",)))


def test_between_seeds_the_ws_of_the_neighbours_are_blended(session):
    deliver_latest(session)  # seed 0's ws arrives with its render and is remembered
    before = len(session.bridge.of(LatentSampleRequest, LATENT_CHANNEL))
    session.move_on_grid(0.25, 0.0)
    # seed 1's ws is not known yet: it is asked for (on its corner's channel); the render waits for it
    assert len(session.bridge.of(LatentSampleRequest, LATENT_CHANNEL)) == before
    fetch = session.bridge.of(LatentSampleRequest, "latent.ws.1")
    assert [f["request"].seed for f in fetch] == [1]
    fetch[0]["on_result"](result_for(fetch[0]["request"]))
    request = session.bridge.of(LatentSampleRequest, LATENT_CHANNEL)[-1]["request"]
    np.testing.assert_allclose(request.ws, 0.75 * seed_ws(0) + 0.25 * seed_ws(1))
    session.move_on_grid(0.25, 0.0)  # both known now: straight to the engine
    request = session.bridge.of(LatentSampleRequest, LATENT_CHANNEL)[-1]["request"]
    np.testing.assert_allclose(request.ws, 0.5 * seed_ws(0) + 0.5 * seed_ws(1))
    session.snap_to_grid()
    assert session.bridge.of(LatentSampleRequest, LATENT_CHANNEL)[-1]["request"].ws is None


def test_mixing_layers_belong_to_one_source_and_become_ranges(session):
    a = session.add_mix_source(seed=5, preset="fine")
    b = session.add_mix_source(seed=6, preset="middle")
    session.set_mix_layers(b.id, (2, 3, 6))  # layer 6 moves from a to b
    assert session.mix_source(a.id).layers == (4, 5, 7)
    request = session.build_request()
    assert [(m.seed, m.layer_start, m.layer_end) for m in request.mix] == [(5, 4, 6), (5, 7, 8), (6, 2, 4), (6, 6, 7)]


def test_directions_in_standard_deviations_and_saved_directions(session):
    job = session.bridge.of(DirectionsRequest)[-1]
    vectors = np.eye(W_DIM, dtype=np.float32)[:3]
    job["on_result"](DirectionsResult(directions=vectors, std=np.array([2.0, 1.0, 0.5], np.float32),
                                      mean=np.zeros(W_DIM, np.float32), explained=np.array([0.5, 0.3, 0.2], np.float32)))
    session.set_direction(1, 1.5)
    session.set_direction_layers(1, 4, None)
    (direction,) = session.build_request().directions
    assert direction.strength == pytest.approx(1.5) and direction.layer_start == 4 and direction.layer_end is None
    np.testing.assert_array_equal(direction.vector, vectors[1])
    with pytest.raises(EngineError, match="already"):
        session.save_direction("older")
        session.save_direction("older")
    saved = {d.name: d for d in session.saved_directions()}["older"]
    assert session.settings.pca == {} and session.settings.named == {"older": 1.0}
    (same,) = session.build_request().directions  # the image stays as it was
    assert same.strength == pytest.approx(1.5) and same.layer_start == 4
    assert "latent" in session.docs.document.state and saved.components[0].vector.shape == (W_DIM,)
    session.docs.undo_stack.undo()
    assert session.saved_directions() == []


def test_class_mixing_sends_a_normalised_class_vector(qtbot):
    docs, bridge = DocumentModel(), ScriptedBridge()
    session = LatentSession(bridge, docs)
    labels = {"name": "tiny", "classes": [{"index": 0, "name": "goldfish", "color": [255, 128, 0]},
                                           {"index": 1, "name": "great white shark", "color": [0, 0, 255]}]}
    session.set_model(summary(c_dim=3, label_set=labels))
    assert session.classes == ["goldfish", "great white shark", "class 2"]
    assert session.build_request().class_index == 0
    session.set_class(2)
    assert session.build_request().class_index == 2
    session.set_class_mix({0: 1.0, 1: 3.0})
    request = session.build_request()
    assert request.class_index is None
    np.testing.assert_allclose(request.class_vector, [0.25, 0.75, 0.0])


def test_bookmarks_live_in_the_document_and_undo(session):
    with pytest.raises(EngineError):
        session.add_bookmark("too early")
    session.set_seed(7)
    deliver_latest(session)
    bookmark = session.add_bookmark("seven")
    assert bookmark.name == "seven" and bookmark.ws.shape == (NUM_WS, W_DIM) and bookmark.thumbnail is not None
    assert session.docs.document is not None  # made for it
    session.set_seed(9)
    session.recall_bookmark(bookmark.id)
    assert session.settings.seed == 7
    session.rename_bookmark(bookmark.id, "lucky")
    assert session.bookmarks()[0].name == "lucky"
    stack = session.docs.undo_stack
    texts = [stack.text(i) for i in range(stack.count())]
    assert texts[-1].startswith("Rename bookmark") and "Latent: Seed" in texts  # seeds are undo steps too
    while session.bookmarks():
        stack.undo()
    assert session.docs.document is None and session.settings.seed == 7


def test_interpolation_frames_lerp_the_bookmarked_ws(session):
    for seed in (2, 6):
        session.set_seed(seed)
        deliver_latest(session)
        session.add_bookmark(f"s{seed}")
    ids = [b.id for b in session.bookmarks()]
    frames = session.interpolation_requests(ids, 5)
    assert len(frames) == 5
    np.testing.assert_allclose([f.ws.mean() for f in frames], [2, 3, 4, 5, 6])
    looped = session.interpolation_requests(ids, 5, loop=True)
    assert len(looped) == 8 and looped[-1].ws.mean() == pytest.approx(3.0)
    with pytest.raises(EngineError, match="two or more"):
        session.interpolation_requests(ids[:1], 5)


def test_send_to_document_adds_an_undoable_layer(session):
    deliver_latest(session)
    message = session.send_to_document()
    doc = session.docs.document
    assert "layer" in message and doc.top("image") is not None and doc.top("image").recipe["tool"] == "latent"
    session.send_to_document()
    assert len(session.docs.document.layers) == 2
    session.docs.undo_stack.undo()
    assert len(session.docs.document.layers) == 1
    session.docs.replace_image(np.zeros((5, 5, 3), np.uint8), new_document=True)
    assert "new document" in session.send_to_document()
    assert (session.docs.document.width, session.docs.document.height) == (8, 8)
    session.docs.undo_stack.undo()
    assert session.docs.document.width == 5  # the user's document is back


def test_a_recipe_for_another_model_loads_it_then_applies(session, tmp_path, qtbot):
    from engine.imageio import write_png

    other = tmp_path / "other.pkl"
    other.write_bytes(b"x")
    settings = LatentSettings(seed_x=21.0, psi=0.4)
    recipe = {"tool": "latent", "model": str(other), "model_options": {"a": 1}, "state": settings.to_dict()}
    png = tmp_path / "r.png"
    write_png(png, np.zeros((4, 4, 3), np.uint8), {"gan_studio_recipe": __import__("json").dumps(recipe)})
    with qtbot.waitSignal(session.model_wanted) as wanted:
        session.open_recipe(str(png))
    assert wanted.args == [str(other), {"a": 1}] and session.settings.seed == 0  # waits for the model
    session.set_model(ModelSummary(path=str(other), family="stylegan2", source_format="x", config={"img_resolution": 32},
                                   parameter_count=1, networks=("G",), capabilities=("latent",)))
    assert session.settings.seed == 21 and session.settings.psi == pytest.approx(0.4)
    assert session.bridge.of(LatentSampleRequest, LATENT_CHANNEL)[-1]["request"].seed == 21

    write_png(png, np.zeros((4, 4, 3), np.uint8), {"gan_studio_recipe": '{"tool": "paint"}'})
    with pytest.raises(EngineError, match="Paint workspace"):
        session.open_recipe(str(png))
    write_png(png, np.zeros((4, 4, 3), np.uint8), {"gan_studio_recipe": "{not json"})
    with pytest.raises(EngineError, match="damaged"):
        session.open_recipe(str(png))
