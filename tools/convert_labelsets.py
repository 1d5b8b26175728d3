"""Convert the team's researched label-set notes into GAN Studio label sets (assets/labelsets).

Usage::

    python tools/convert_labelsets.py [SOURCE_DIR] [OUT_DIR]

SOURCE_DIR (default ``../shared/labelsets``) holds ``ade20k.json``, ``cocostuff.json`` and
``cityscapes.json``: official class lists with the indices the official loaders feed the
network, palettes, and the sources they were checked against. The output keeps the source
attribution and notes, and moves dataset-specific fields (COCO-Stuff ids, Cityscapes trainIds
...) into each class's ``extra``. Classes the network can never receive (Cityscapes' license
plate, labelId -1) are left out and mentioned in the notes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.labelsets import LabelClass, LabelSet

TITLES = {
    "ade20k": ("ADE20K (150 classes)", "ADE20K scene parsing classes in the index order SPADE's ade20k checkpoints receive."),
    "cocostuff": ("COCO-Stuff (182 classes)", "COCO-Stuff 164K things and stuff in the index order SPADE's coco checkpoints receive."),
    "cityscapes": ("Cityscapes (labelIds)", "Cityscapes labelIds as pix2pixHD's and SPADE's cityscapes checkpoints receive them."),
}
#: fields of the research notes that become LabelClass fields; the rest go to ``extra``
_RENAMED = {"short_name": "short_name", "kind": "group", "category": "group", "unused": "unused"}


def convert_class(entry: dict, dontcare: bool = False) -> LabelClass:
    fields = {"short_name": None, "group": None, "unused": False}
    extra = {}
    for key, value in entry.items():
        if key in ("index", "name", "color"):
            continue
        if key in _RENAMED:
            fields[_RENAMED[key]] = value
        else:
            extra[key] = value
    return LabelClass(index=int(entry["index"]), name=str(entry["name"]), color=tuple(entry["color"]),
                      dontcare=dontcare, extra=extra, **fields)


def convert(name: str, data: dict) -> LabelSet:
    classes = []
    left_out = []
    if data.get("dontcare_class"):
        classes.append(convert_class(data["dontcare_class"], dontcare=True))
    for entry in data["classes"]:
        if int(entry["index"]) < 0 or entry.get("feedable") is False:
            left_out.append(f"{entry['name']} (index {entry['index']})")
            continue
        classes.append(convert_class(entry))
    notes = data.get("notes", "")
    if left_out:
        notes += f" Left out of this label set because no network input can hold them: {', '.join(left_out)}."
    if "intended_dontcare_index" in data:
        notes += f" (intended_dontcare_index in the research notes: {data['intended_dontcare_index']}.)"
    title, description = TITLES[name]
    return LabelSet(
        name=name,
        title=title,
        description=description + " Research title: " + data.get("name", ""),
        source=data["source"],
        label_nc=int(data["label_nc"]),
        contain_dontcare_label=bool(data.get("contain_dontcare_label", False)),
        dontcare_index=data.get("dontcare_index"),
        no_instance=data.get("no_instance"),
        notes=notes.strip(),
        classes=tuple(sorted(classes, key=lambda c: c.index)),
    )


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else REPO.parent / "shared" / "labelsets"
    out = Path(argv[2]) if len(argv) > 2 else REPO / "assets" / "labelsets"
    for name in TITLES:
        data = json.loads((source / f"{name}.json").read_text(encoding="utf-8"))
        label_set = convert(name, data)
        path = label_set.save(out / f"{name}.json")
        sys.stdout.write(f"{path}: {len(label_set)} classes, indices 0..{label_set.num_indices - 1}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
