"""Ship a training run's model as a starter model: copy, evaluate, write its manifest entry.

Usage::

    python tools/ship_starter.py RUN_DIR [--name starter-spade] [--n N] [--images DIR]
        [--also-images DIR] [--drop D] [--half] [--hardware "..."] [--dry-run]
    python tools/ship_starter.py --table | --readme     # the metrics table (printed / into README.md)

Copies ``RUN_DIR/latest.safetensors`` to ``checkpoints/NAME.safetensors`` (NAME defaults to the run's
preset), scores it with the world's judges exactly as ``gan-studio evaluate --json`` does (on
``--images`` when given, e.g. held-out photos for the upscaler; ``--also-images`` adds a second
report, e.g. world scenes), and replaces NAME's entry in ``checkpoints/manifest.json`` with the file's
SHA-256, size, family, config, workspace, preset, the command that trains it, the training steps,
wall time, hardware and data, and the metrics with their baselines/ceilings. Refuses (exit 1) when
the checkpoints folder would grow past :data:`MAX_FOLDER_BYTES`.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import starter

CHECKPOINTS = ROOT / "checkpoints"
MAX_FOLDER_BYTES = 80 * 10**6
TITLES = {
    "spade": "Starter world painter (SPADE)",
    "stylegan2": "Starter world generator (StyleGAN2)",
    "biggan": "Starter biome generator (BigGAN)",
    "context_encoder": "Starter inpainter",
    "srvgg": "Starter x4 upscaler",
    "esrgan": "Starter x4 upscaler",
}


def run_facts(run_dir: Path, step: int) -> dict[str, Any]:
    """Options and wall time (s, summed over the run's sessions, up to ``step``) of a run directory."""
    data = json.loads((run_dir / "options.json").read_text(encoding="utf-8"))
    options = data.get("options", data)
    wall, session_last = 0.0, 0.0
    for line in (run_dir / "progress.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("kind") == "event" and record.get("event") == "start":
            wall += session_last
            session_last = 0.0
        elif record.get("kind") == "log" and int(record.get("step", 0)) <= step:
            session_last = float(record.get("elapsed_s", session_last))
    return {"options": options, "step": step, "wall_time_s": round(wall + session_last),
            "torch_version": data.get("torch_version", "")}


def evaluate(path: Path, n: int | None, images: str | None) -> dict[str, Any]:
    from engine.eval.evaluate import evaluate as score
    from engine.loaders import load_model

    model = load_model(str(path), {})
    return score(model, n, None, images).to_dict()


def preset_facts(name: str | None) -> tuple[str, str]:
    if not name:
        return "", ""
    from engine.training import presets

    try:
        return presets.get(name).data_recipe, presets.get(name).description
    except Exception:  # noqa: BLE001 - an unknown preset only loses the recipe line
        return "", ""


def default_hardware(torch_version: str) -> str:
    return (f"CPU ({platform.machine()}), 2 cores shared with other jobs, 1 torch thread, "
            f"torch {torch_version}")


def manifest_entry(name: str, dest: Path, facts: dict[str, Any], reports: list[dict[str, Any]],
                   hardware: str, half: bool = False) -> dict[str, Any]:
    meta = starter.read_header_metadata(dest)
    family = str(meta.get("family", facts["options"].get("family", "")))
    config = meta.get("config") or {}
    opts = facts["options"]
    preset = opts.get("preset") or name
    recipe, description = preset_facts(preset)
    workspace = starter.WORKSPACE_OF_FAMILY.get(family, "paint")
    resolution = int(opts.get("resolution") or 0)
    scale = int(config.get("upscale") or config.get("scale") or 0) if workspace == "upscale" else 0
    command = f"gan-studio train --preset {preset} --data DATA --out RUN_DIR"
    return {
        "file": dest.name,
        "workspace": workspace,
        "title": TITLES.get(family, name),
        "description": description,
        "family": family,
        "resolution": 0 if scale else int(config.get("crop_size") or config.get("resolution") or resolution),
        "scale": scale,
        "sha256": starter.sha256_of(dest),
        "size_bytes": dest.stat().st_size,
        "config": config,
        "preset": preset,
        "command": command,
        "training": {
            "steps": facts["step"], "planned_steps": opts.get("steps"), "batch": opts.get("batch"),
            "crop": resolution, "wall_time_s": facts["wall_time_s"], "hardware": hardware,
            "data": recipe, "data_folders": [Path(d).name for d in opts.get("data", [])], "seed": opts.get("seed"),
        },
        "metrics": reports[0]["metrics"],
        "evaluation": [{k: r[k] for k in ("n", "held_out_seeds", "notes")} | {"metrics": r["metrics"]} for r in reports],
        "license": starter.SHIPPED_LICENSE,
        "storage": "float16 weights (loaded into float32 networks)" if half else "float32 weights",
    }


def rewrite(path: Path, drop: list[str], half: bool) -> None:
    """Rewrite a GAN Studio file without the networks ``drop`` (e.g. a discriminator the app never
    uses) and, with ``half``, with float32 tensors stored as float16 (the loader copies them into
    the float32 networks; the evaluation then scores exactly the shipped weights)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys() if k.split(".", 1)[0] not in drop}
    if half:
        tensors = {k: v.half() if v.dtype == torch.float32 else v for k, v in tensors.items()}
    header = json.loads(metadata["gan_studio"])
    header["networks"] = [r for r in header["networks"] if r not in drop]
    save_file(tensors, str(path), metadata={**metadata, "gan_studio": json.dumps(header)})


def better_than_shipped(name: str, reports: list[dict[str, Any]]) -> bool:
    """Whether the new first metric of the first report beats the shipped entry ``name``'s
    (True when none is shipped or the metrics differ)."""
    shipped = next((m for m in (starter.read_manifest(CHECKPOINTS) or {}).get("models", [])
                    if m.get("file") == f"{name}.safetensors"), None)
    if shipped is None:
        return True
    old, new = shipped["metrics"][0], reports[0]["metrics"][0]
    if old["name"] != new["name"]:
        return True
    return new["value"] > old["value"] if new.get("higher_is_better", True) else new["value"] < old["value"]


def folder_bytes(folder: Path, replacing: Path, new_size: int) -> int:
    total = sum(p.stat().st_size for p in folder.iterdir() if p.is_file() and p != replacing)
    return total + new_size


def write_manifest(entry: dict[str, Any]) -> None:
    manifest = CHECKPOINTS / starter.MANIFEST_NAME
    data = starter.read_manifest(CHECKPOINTS) or {"format": starter.MANIFEST_FORMAT, "models": []}
    models = [m for m in data.get("models", []) if m.get("file") != entry["file"]]
    models.append(entry)
    order = {w: i for i, w in enumerate(starter.WORKSPACES)}
    # the first model of each workspace is the one the app loads at start: StyleGAN2 before BigGAN
    data["models"] = sorted(models, key=lambda m: (order.get(m.get("workspace"), 9), m.get("family") != "stylegan2",
                                                   m["file"]))
    data["format"] = starter.MANIFEST_FORMAT
    manifest.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{float(value):.3g}" if abs(float(value)) < 1000 else f"{float(value):.0f}"
    return f"{text} {unit}".strip()


def markdown_table() -> str:
    """The README's metrics table from the manifest: one line per metric of each shipped model."""
    lines = ["| model | family, size | trained | metric | value | reference |", "|---|---|---|---|---|---|"]
    for entry in (starter.read_manifest(CHECKPOINTS) or {}).get("models", []):
        training = entry.get("training", {})
        size = f"x{entry['scale']}" if entry.get("scale") else f"{entry['resolution']} px"
        head = (f"`{entry['file']}`", f"{entry['family']}, {size}, {entry['size_bytes'] / 1e6:.1f} MB",
                f"{training.get('steps')} steps, {round(training.get('wall_time_s', 0) / 60)} min CPU")
        rows = []
        for report in entry.get("evaluation") or [{"metrics": entry.get("metrics", []), "notes": []}]:
            note = (report.get("notes") or [""])[0]
            where = "held-out photos" if " images of " in note else "held-out world"
            rows += [(metric, where) for metric in report["metrics"]]
        for i, (metric, where) in enumerate(rows):
            refs = dict(metric.get("baselines") or {})
            if metric.get("reference") is not None:
                refs = {metric.get("reference_name") or metric.get("reference_kind"): metric["reference"], **refs}
            ref_text = "; ".join(f"{name} {_fmt(value, metric.get('unit', ''))}" for name, value in refs.items()) or "—"
            cells = head if i == 0 else ("", "", "")
            lines.append(f"| {' | '.join(cells)} | {metric['name']} ({where}) | "
                         f"{_fmt(metric['value'], metric.get('unit', ''))} | {ref_text} |")
    return "\n".join(lines)


def update_readme(readme: Path = ROOT / "README.md") -> None:
    """Replace the metrics table between the README's starter-table markers with the manifest's."""
    text = readme.read_text(encoding="utf-8")
    start = text.index("<!-- starter-table")
    start = text.index("\n", start) + 1
    end = text.index("<!-- /starter-table -->")
    readme.write_text(text[:start] + markdown_table() + "\n" + text[end:], encoding="utf-8")


def main() -> int:
    if sys.argv[1:] == ["--table"]:
        print(markdown_table())
        return 0
    if sys.argv[1:] == ["--readme"]:
        update_readme()
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--name", help="file name without .safetensors (default: the run's preset)")
    parser.add_argument("--n", type=int, default=None, help="held-out scenes/samples (default: the family's)")
    parser.add_argument("--images", default=None, help="score on these images instead of world scenes")
    parser.add_argument("--also-images", default=None, help="a second report on these images ('world' for world scenes)")
    parser.add_argument("--hardware", default=None)
    parser.add_argument("--drop", nargs="*", default=[], help="networks not to ship (e.g. D)")
    parser.add_argument("--half", action="store_true", help="store float32 weights as float16 (half the size)")
    parser.add_argument("--if-better", action="store_true",
                        help="replace the shipped file only when the first metric improves")
    parser.add_argument("--dry-run", action="store_true", help="evaluate and print the entry, change nothing")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    source = args.run_dir / "latest.safetensors"
    staging = CHECKPOINTS / f".{args.run_dir.name}.staging.safetensors"
    shutil.copyfile(source, staging)  # the run may write a newer latest while we evaluate
    if args.drop or args.half:
        rewrite(staging, args.drop, args.half)
    recipe = starter.read_header_metadata(staging).get("training_recipe") or {}
    facts = run_facts(args.run_dir, int(recipe.get("step", 0)))
    name = args.name or facts["options"].get("preset") or args.run_dir.name
    dest = CHECKPOINTS / f"{name}.safetensors"
    if folder_bytes(CHECKPOINTS, dest, staging.stat().st_size) - staging.stat().st_size > MAX_FOLDER_BYTES:
        staging.unlink()
        print(f"refused: checkpoints/ would exceed {MAX_FOLDER_BYTES} bytes", file=sys.stderr)
        return 1
    reports = [evaluate(staging, args.n, args.images)]
    if args.also_images:
        reports.append(evaluate(staging, args.n, None if args.also_images == "world" else args.also_images))
    hardware = args.hardware or default_hardware(facts["torch_version"])
    entry = manifest_entry(name, staging, facts, reports, hardware, args.half)
    entry["file"] = dest.name
    print(json.dumps(entry, indent=2))
    if args.if_better and not better_than_shipped(name, reports):
        print(f"kept the shipped {dest.name}: the new {reports[0]['metrics'][0]['name']} is not better", file=sys.stderr)
        staging.unlink()
        return 0
    if args.dry_run:
        staging.unlink()
        return 0
    staging.chmod(0o644)
    staging.replace(dest)
    write_manifest(entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
