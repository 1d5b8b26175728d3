"""Official NVlabs/SPADE checkpoints: ``latest_net_G.pth`` (+ ``latest_net_E.pth`` for VAE models).

Options use the official names (from ``opt.txt``/sidecar JSON, or given explicitly): ``label_nc``,
``contain_dontcare_label``, ``no_instance``, ``ngf``, ``norm_G``, ``norm_E``, ``use_vae``,
``z_dim``, ``num_upsampling_layers``, ``crop_size``, ``aspect_ratio``.

What is read from the weights (an option that disagrees is an error that says so):
  * ``ngf``: ``head_0.conv_0`` output channels / 16 (checked against ``conv_img``);
  * ``semantic_nc``: input channels of ``head_0.norm_0.mlp_shared.0``;
  * ``use_vae``: ``fc`` is a Linear (2-D weight) in VAE generators, a 3x3 conv otherwise;
    ``z_dim`` is its input width;
  * ``num_upsampling_layers == "most"``: an ``up_4`` block exists;
  * spectral norm: ``weight_orig`` keys; batch vs instance param-free norm: ``running_mean`` keys
    (``syncbatch`` and ``batch`` store the same keys and act the same in eval; the option decides
    the name, default ``syncbatch``); SPADE kernel size: ``mlp_shared`` kernel;
  * encoder: ``ngf`` from ``layer1``, ``norm_E`` from its keys, ``layer6`` <=> ``crop_size >= 256``.

Rules for what the weights cannot tell:
  * How ``semantic_nc`` splits into ``label_nc`` + don't-care + instance edge. The given options
    are checked to add up. When some are missing, the official defaults
    (``contain_dontcare_label`` false, ``no_instance`` false) fill them if that adds up; otherwise
    the one remaining assignment that adds up is used. ``label_nc`` itself must be given, except for
    the layouts of the released models (151 = ADE20K, 184 = COCO-Stuff, 36 = Cityscapes), which are
    assumed with a note. Anything still undecided raises :class:`MissingOptionError`.
  * ``normal`` vs ``more`` upsampling. For a VAE generator, ``fc`` has ``16*ngf*sh*sw`` outputs,
    which together with ``crop_size``/``aspect_ratio`` (when given) selects the candidates. When
    more than one fits: without ``crop_size`` it must be given (:class:`MissingOptionError`); with
    it, a missing ``aspect_ratio``/``num_upsampling_layers`` falls back to the official default
    (1.0, ``normal``) if that leaves exactly one (noted), else the option is asked for. For a non-VAE
    generator the weights are the same either way: the option decides, default ``normal`` (noted).
  * The model's own output size (``crop_size``, ``aspect_ratio``) of a non-VAE generator: default
    256 and 1.0 (noted); any size that is a multiple of ``2**n_up`` can be rendered anyway.

``latest_net_E.pth`` next to a VAE generator is loaded automatically; without it the model can
only draw random styles (noted).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from engine.errors import CheckpointError, MissingOptionError
from engine.labelsets import model_label_set
from engine.models.loaded import LoadedModel
from engine.loaders.options import read_bool, read_choice, read_float, read_int
from engine.open_options import ASK_BEFORE_ASSUMING, label_layout_question
from engine.loaders.base import RawCheckpoint, strict_load
from engine.loaders.files import read_torch_file
from engine.models.spade import UPSAMPLING_STEPS, ConvEncoder, SpadeConfig, SpadeGenerator

log = logging.getLogger(__name__)

NAME = "spade-official"
FAMILY = "spade"

_TELLTALE = ("head_0.", "G_middle_0.", "up_0.", "conv_img.")
#: semantic_nc of the released models -> (dataset, label_nc, contain_dontcare_label, no_instance)
RELEASED_LAYOUTS = {
    151: ("ADE20K", 150, True, True),
    184: ("COCO-Stuff", 182, True, False),
    36: ("Cityscapes", 35, False, False),
}
OFFICIAL_DEFAULTS = {"contain_dontcare_label": False, "no_instance": False, "aspect_ratio": 1.0,
                     "num_upsampling_layers": "normal", "crop_size": 256, "z_dim": 256,
                     "norm_E": "spectralinstance"}
HOW_TO_PASS = ("Pass it in the options dialog, as a command-line option, or in a JSON file "
               "next to the checkpoint (e.g. {{\"{name}\": ...}} in gan_studio.json), or put the experiment's "
               "opt.txt next to it.")


def _generator_state(ckpt: RawCheckpoint) -> dict[str, torch.Tensor]:
    state = ckpt.tensors()
    if not state:
        # some training scripts wrap the state dict
        for key in ("state_dict", "netG", "G"):
            state = ckpt.tensors(key)
            if state:
                break
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


def sniff(ckpt: RawCheckpoint, options: Mapping[str, Any]) -> bool:
    if ckpt.kind not in ("torch", "safetensors"):
        return False
    keys = _generator_state(ckpt).keys()
    return (all(any(k.startswith(p) for k in keys) for p in _TELLTALE)
            and any(".mlp_shared.0.weight" in k for k in keys))


# ---------------------------------------------------------------------------------------------
# Option handling


def _missing(name: str, why: str) -> MissingOptionError:
    return MissingOptionError(f"{why} {HOW_TO_PASS.format(name=name)}", option=name)


def _layout_question(file: str, semantic_nc: int, given: Mapping[str, Any], guess: Mapping[str, Any],
                     why: str) -> MissingOptionError:
    """Asked instead of assuming (the GUI's ``ask_before_assuming``): the guess comes pre-filled."""
    question = label_layout_question(file, semantic_nc, given, guess, why)
    return MissingOptionError(f"{why} {HOW_TO_PASS.format(name='label_nc')}", option="label_nc", question=question)


def resolve_label_layout(semantic_nc: int, options: Mapping[str, Any], file: str,
                         notes: list[str]) -> tuple[int, bool, bool]:
    """(label_nc, contain_dontcare_label, no_instance) consistent with ``semantic_nc``."""
    label_nc = read_int(options, "label_nc")
    dontcare = read_bool(options, "contain_dontcare_label")
    no_instance = read_bool(options, "no_instance")

    def total(lnc: int, dc: bool, ni: bool) -> int:
        return lnc + int(dc) + int(not ni)

    given = {k: v for k, v in (("label_nc", label_nc), ("contain_dontcare_label", dontcare),
                               ("no_instance", no_instance)) if v is not None}
    if len(given) == 3:
        if total(label_nc, dontcare, no_instance) != semantic_nc:
            raise CheckpointError(
                f"{file}: the generator takes {semantic_nc} input channels, but label_nc={label_nc}, "
                f"contain_dontcare_label={dontcare}, no_instance={no_instance} add up to "
                f"{total(label_nc, dontcare, no_instance)} (label_nc + 1 if contain_dontcare_label + 1 unless "
                "no_instance). Fix these options to match the training run (see its opt.txt)."
            )
        return label_nc, dontcare, no_instance

    ask = bool(read_bool(options, ASK_BEFORE_ASSUMING, False))
    released = RELEASED_LAYOUTS.get(semantic_nc)
    if released is not None:
        dataset, r_lnc, r_dc, r_ni = released
        if all(given.get(k, v) == v for k, v in (("label_nc", r_lnc), ("contain_dontcare_label", r_dc),
                                                 ("no_instance", r_ni))):
            if ask:
                guess = {"label_nc": r_lnc, "contain_dontcare_label": r_dc, "no_instance": r_ni}
                raise _layout_question(file, semantic_nc, given, guess,
                                       f"{Path(file).name} takes {semantic_nc} input channels, the layout of the "
                                       f"released {dataset} model; check that guess (or set the options as the "
                                       "model was trained).")
            notes.append(
                f"Assumed the label layout of the released {dataset} model (label_nc={r_lnc}, "
                f"contain_dontcare_label={r_dc}, no_instance={r_ni}) from its {semantic_nc} input channels; "
                "pass these options if the model was trained otherwise."
            )
            return r_lnc, r_dc, r_ni

    if label_nc is None:
        if dontcare is not None and no_instance is not None:
            label_nc = semantic_nc - int(dontcare) - int(not no_instance)
            if label_nc < 1:
                raise CheckpointError(f"{file}: contain_dontcare_label/no_instance leave no label classes of "
                                      f"the {semantic_nc} input channels; check the options.")
            return label_nc, dontcare, no_instance
        error = _missing(
            "label_nc",
            f"{file} is a SPADE generator with {semantic_nc} input channels, but how many are label classes "
            f"(label_nc) cannot be read from the weights (the rest are a don't-care class and/or an instance-edge "
            f"channel). Set label_nc (and contain_dontcare_label / no_instance) as the model was trained.",
        )
        error.question = label_layout_question(file, semantic_nc, given)
        raise error

    extra = semantic_nc - label_nc
    if extra not in (0, 1, 2):
        raise CheckpointError(
            f"{file}: label_nc={label_nc} does not fit a generator with {semantic_nc} input channels "
            f"(label_nc must be {semantic_nc - 2}, {semantic_nc - 1} or {semantic_nc}, depending on "
            "contain_dontcare_label and no_instance). Check label_nc."
        )
    candidates = [(dc, ni) for dc in (False, True) for ni in (False, True)
                  if total(label_nc, dc, ni) == semantic_nc
                  and (dontcare is None or dc == dontcare) and (no_instance is None or ni == no_instance)]
    if not candidates:
        raise CheckpointError(
            f"{file}: the generator takes {semantic_nc} input channels; label_nc={label_nc} with "
            f"contain_dontcare_label={dontcare} and no_instance={no_instance} cannot add up to that. "
            "Fix these options to match the training run (see its opt.txt)."
        )
    if len(candidates) == 1:
        dc, ni = candidates[0]
    else:
        defaults = (OFFICIAL_DEFAULTS["contain_dontcare_label"] if dontcare is None else dontcare,
                    OFFICIAL_DEFAULTS["no_instance"] if no_instance is None else no_instance)
        if defaults not in candidates:
            error = _missing("no_instance", f"{file}: cannot tell whether the extra input channel is a "
                                            "don't-care class or the instance-edge map.")
            error.question = label_layout_question(file, semantic_nc, given)
            raise error
        dc, ni = defaults
    if (dontcare is None or no_instance is None) and ask:
        raise _layout_question(file, semantic_nc, given, {"contain_dontcare_label": dc, "no_instance": ni},
                               f"{Path(file).name} takes {semantic_nc} input channels; with label_nc={label_nc} "
                               "the rest could be a don't-care class or an instance-outline channel. Check the "
                               "guess below.")
    if dontcare is None or no_instance is None:
        what = "an instance-edge channel" if not ni else "no instance-edge channel"
        what += " and a don't-care class" if dc else ""
        notes.append(
            f"Assumed {what} (contain_dontcare_label={dc}, no_instance={ni}) from label_nc={label_nc} and "
            f"{semantic_nc} input channels; pass these options if the model was trained otherwise."
        )
    return label_nc, dc, ni


def _latent_candidates(n_steps: list[int], fc_cells: int, crop: int | None,
                       aspect: float | None) -> list[tuple[int, int, int]]:
    """(n_up, sh, sw) that give ``sh*sw == fc_cells`` and fit crop_size/aspect_ratio when given."""
    out = []
    for n in n_steps:
        for sw in range(1, fc_cells + 1):
            if fc_cells % sw:
                continue
            sh = fc_cells // sw
            if crop is not None and crop // (2 ** n) != sw:
                continue
            if aspect is not None and round(sw / aspect) != sh:
                continue
            out.append((n, sh, sw))
    return out


def resolve_size(use_vae: bool, has_up4: bool, fc_cells: int | None, options: Mapping[str, Any],
                 file: str, notes: list[str]) -> tuple[str, int, float]:
    """(num_upsampling_layers, crop_size, aspect_ratio) consistent with the weights."""
    nul = read_choice(options, "num_upsampling_layers", tuple(UPSAMPLING_STEPS))
    if has_up4 and nul not in (None, "most"):
        raise CheckpointError(f"{file} has an up_4 block, so it was trained with num_upsampling_layers=most, "
                              f"not '{nul}'. Remove or fix that option.")
    if not has_up4 and nul == "most":
        raise CheckpointError(f"{file} has no up_4 block, so num_upsampling_layers cannot be 'most'; "
                              "use normal or more.")
    crop = read_int(options, "crop_size")
    aspect = read_float(options, "aspect_ratio")
    if aspect is not None and aspect <= 0:
        raise CheckpointError("Option aspect_ratio must be positive (width / height).")
    if has_up4:
        nul = "most"
    names = {5: "normal", 6: "more", 7: "most"}

    if not use_vae:
        if nul is None:
            nul = OFFICIAL_DEFAULTS["num_upsampling_layers"]
            notes.append("Assumed num_upsampling_layers=normal (the official default; the weights are the same "
                         "for 'more'); pass num_upsampling_layers=more if the model was trained with it.")
        if crop is None or aspect is None:
            crop = crop if crop is not None else OFFICIAL_DEFAULTS["crop_size"]
            aspect = aspect if aspect is not None else OFFICIAL_DEFAULTS["aspect_ratio"]
            notes.append(f"The model's own size was not given; using crop_size={crop}, aspect_ratio={aspect} "
                         "(other sizes can still be rendered).")
        return nul, crop, aspect

    steps = [UPSAMPLING_STEPS[nul]] if nul is not None else [5, 6]
    found = _latent_candidates(steps, fc_cells, crop, aspect)
    if not found:
        raise CheckpointError(
            f"{file}: its fc layer makes a {fc_cells}-cell starting grid, which does not fit "
            f"crop_size={crop}, aspect_ratio={aspect}, num_upsampling_layers={nul} "
            "(sw = crop_size // 2**n_up, sh = round(sw / aspect_ratio), sh*sw must be "
            f"{fc_cells}). Fix these options to match the training run (see its opt.txt)."
        )
    assumed = []
    if len(found) > 1 and crop is None:
        raise _missing("crop_size", f"{file}: the image size of this VAE generator cannot be told from its weights "
                                    f"({len(found)} layouts fit its {fc_cells}-cell starting grid); set crop_size "
                                    "(and aspect_ratio) as the model was trained.")
    if len(found) > 1 and aspect is None:
        narrowed = [c for c in found if round(c[2] / OFFICIAL_DEFAULTS["aspect_ratio"]) == c[1]]
        if narrowed:
            found, assumed = narrowed, assumed + ["aspect_ratio=1.0"]
    if len(found) > 1 and nul is None:
        narrowed = [c for c in found if c[0] == UPSAMPLING_STEPS["normal"]]
        if narrowed:
            found, assumed = narrowed, assumed + ["num_upsampling_layers=normal"]
    if len(found) > 1:
        missing = next(n for n, v in (("crop_size", crop), ("aspect_ratio", aspect), ("num_upsampling_layers", nul))
                       if v is None)
        raise _missing(missing, f"{file}: the image size of this VAE generator cannot be told from its weights "
                                f"({len(found)} layouts fit); set {missing}.")
    n, sh, sw = found[0]
    if crop is None:
        crop = sw * 2 ** n
        assumed.append(f"crop_size={crop}")
    if aspect is None:
        aspect = sw / sh
        if "aspect_ratio=1.0" not in assumed:
            assumed.append(f"aspect_ratio={aspect:g}")
    if assumed:
        notes.append(f"Assumed {', '.join(assumed)} (consistent with the weights); pass these options if the model "
                     "was trained otherwise.")
    return names[n], crop, aspect


def _check_given(options: Mapping[str, Any], name: str, from_weights: Any, file: str) -> None:
    if options.get(name) is None:
        return
    given = options[name]
    if isinstance(from_weights, bool):
        given = read_bool(options, name)
    elif isinstance(from_weights, int):
        given = read_int(options, name)
    if given != from_weights:
        raise CheckpointError(
            f"{file}: option {name}={options[name]!r} disagrees with the weights, which say {name}={from_weights!r}. "
            "Remove the option or fix it."
        )


def config_from_weights(g_state: Mapping[str, torch.Tensor], options: Mapping[str, Any], file: str,
                        notes: list[str], e_state: Mapping[str, torch.Tensor] | None = None) -> SpadeConfig:
    """Everything about the architecture, from the generator weights plus ``options``."""
    def need(key: str) -> torch.Tensor:
        if key not in g_state:
            raise CheckpointError(f"{file} looks like a SPADE generator but has no '{key}'; it may be truncated "
                                  "or damaged. Get a fresh copy.")
        return g_state[key]

    head_conv = "head_0.conv_0.weight_orig" if "head_0.conv_0.weight_orig" in g_state else "head_0.conv_0.weight"
    spectral = head_conv.endswith("_orig")
    ngf16 = need(head_conv).shape[0]
    if ngf16 % 16:
        raise CheckpointError(f"{file}: head_0 has {ngf16} channels, not a multiple of 16; not a SPADE generator.")
    ngf = ngf16 // 16
    mlp = need("head_0.norm_0.mlp_shared.0.weight")
    semantic_nc, ks = int(mlp.shape[1]), int(mlp.shape[-1])
    batch_norm = "head_0.norm_0.param_free_norm.running_mean" in g_state
    fc = need("fc.weight")
    use_vae = fc.ndim == 2
    has_up4 = any(k.startswith("up_4.") for k in g_state)

    _check_given(options, "ngf", ngf, file)
    _check_given(options, "use_vae", use_vae, file)
    norm_kind = "instance"
    if batch_norm:
        given_norm = str(options.get("norm_G") or "")
        norm_kind = "batch" if re.search(r"spadebatch", given_norm) else "syncbatch"
    norm_G = f"{'spectral' if spectral else ''}spade{norm_kind}{ks}x{ks}"
    if options.get("norm_G") and str(options["norm_G"]) != norm_G:
        raise CheckpointError(
            f"{file}: option norm_G={options['norm_G']!r} disagrees with the weights, which fit norm_G={norm_G!r} "
            "(spectral norm <=> weight_orig keys; batch norm <=> running_mean keys; kernel from mlp_shared). "
            "Remove the option or fix it."
        )

    z_dim = read_int(options, "z_dim") or OFFICIAL_DEFAULTS["z_dim"]
    fc_cells = None
    if use_vae:
        _check_given(options, "z_dim", int(fc.shape[1]), file)
        z_dim = int(fc.shape[1])
        if fc.shape[0] % (16 * ngf):
            raise CheckpointError(f"{file}: fc has {fc.shape[0]} outputs, not a multiple of 16*ngf={16 * ngf}.")
        fc_cells = int(fc.shape[0]) // (16 * ngf)
    label_nc, dontcare, no_instance = resolve_label_layout(semantic_nc, options, file, notes)
    nul, crop, aspect = resolve_size(use_vae, has_up4, fc_cells, options, file, notes)

    norm_E = str(options.get("norm_E") or OFFICIAL_DEFAULTS["norm_E"])
    if e_state:
        e_spectral = "layer1.0.weight_orig" in e_state or "layer1.weight_orig" in e_state
        if "layer1.1.running_mean" in e_state:
            e_norm = "syncbatch" if "syncbatch" in norm_E else "batch"
        elif any(k.startswith("layer1.0.") for k in e_state):
            e_norm = "instance"
        else:
            e_norm = "none"
        norm_E = f"{'spectral' if e_spectral else ''}{e_norm}"
        has_layer6 = any(k.startswith("layer6.") for k in e_state)
        if has_layer6 != (crop >= 256):
            raise CheckpointError(
                f"{file}: the style encoder {'has' if has_layer6 else 'lacks'} a layer6, which means crop_size "
                f"{'>=' if has_layer6 else '<'} 256, but crop_size is {crop}. Fix crop_size."
            )
    try:
        return SpadeConfig(label_nc=label_nc, contain_dontcare_label=dontcare, no_instance=no_instance, ngf=ngf,
                           norm_G=norm_G, norm_E=norm_E, use_vae=use_vae, z_dim=z_dim,
                           num_upsampling_layers=nul, crop_size=crop, aspect_ratio=aspect,
                           output_nc=int(need("conv_img.weight").shape[0]))
    except ValueError as exc:
        raise CheckpointError(f"{file}: {exc}") from exc


def _find_encoder(ckpt: RawCheckpoint) -> Path | None:
    """``latest_net_E.pth`` next to ``latest_net_G.pth`` (any ``<epoch>_net_G`` prefix)."""
    name = ckpt.path.name
    if "net_G" in name:
        found = ckpt.sibling(name.replace("net_G", "net_E"))
        if found is not None:
            return found
    return ckpt.sibling("latest_net_E.pth")


def load(ckpt: RawCheckpoint, options: dict[str, Any]) -> LoadedModel:
    file = ckpt.name
    g_state = _generator_state(ckpt)
    notes: list[str] = []
    use_vae = "fc.weight" in g_state and g_state["fc.weight"].ndim == 2
    e_state: dict[str, torch.Tensor] | None = None
    e_path = _find_encoder(ckpt) if use_vae else None
    if e_path is not None:
        e_obj = read_torch_file(e_path)
        if not (isinstance(e_obj, Mapping) and e_obj and all(isinstance(v, torch.Tensor) for v in e_obj.values())):
            raise CheckpointError(f"{e_path.name} next to {file} is not a plain state dict of a SPADE style encoder.")
        e_state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in e_obj.items()}

    config = config_from_weights(g_state, options, file, notes, e_state)
    generator = SpadeGenerator(config)
    strict_load(generator, g_state, f"{file} (SPADE generator)")
    networks: dict[str, torch.nn.Module] = {"G": generator}
    if e_state is not None:
        encoder = ConvEncoder(config)
        strict_load(encoder, e_state, f"{e_path.name} (SPADE style encoder)")
        networks["E"] = encoder
    elif use_vae:
        notes.append(f"No style encoder (latest_net_E.pth) next to {file}: only random styles can be drawn.")
    for note in notes:
        log.info("%s: %s", file, note)
    return LoadedModel(
        path=str(ckpt.path),
        family=FAMILY,
        source_format=NAME,
        config=config,
        networks=networks,
        label_set=model_label_set(config.label_nc, config.contain_dontcare_label),
        metadata={"source": f"{NAME}:{file}" + (f"+{e_path.name}" if e_path else "")},
        notes=notes,
    )
