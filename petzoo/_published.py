"""Weight enums built from ``petzoo/weights.json``, the manifest that publish.py writes.

No weight metadata is typed into the code: sha256, sizes and measured metrics all
come from the manifest, which ``train_reference/publish.py`` generates from an
evaluation run.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Type

from ._api import Weights, WeightsEnum
from .transforms import SegmentationPresetEval

MANIFEST = Path(__file__).with_name("weights.json")


def read_manifest() -> Dict[str, List[Dict[str, Any]]]:
    return json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}


def to_weights(entry: Dict[str, Any]) -> Weights:
    t = entry["transforms"]
    return Weights(
        transforms=SegmentationPresetEval(t["size"], t["mean"], t["std"], t["interpolation"]),
        meta=entry["meta"],
        local_dir=entry["local_dir"],
        hub_repo=entry["hub_repo"],
        sha256=entry["sha256"],
        size=entry["size"],
        filename=entry.get("filename", "model.safetensors"),
        revision=entry.get("revision"),
        builder_kwargs=entry.get("builder_kwargs", {}),
    )


def weights_enum(enum_name: str, model: str, module: str) -> Type[WeightsEnum]:
    """The enum of ``model``'s published weights; ``DEFAULT`` is the entry marked default."""
    entries = read_manifest().get(model, [])
    members = [(entry["name"], to_weights(entry)) for entry in entries]
    default = [e["name"] for e in entries if e.get("default")]
    if default:
        members.append(("DEFAULT", dict(members)[default[-1]]))
    enum = WeightsEnum(enum_name, members, module=module, qualname=enum_name)
    enum.__doc__ = f"Published weights of :func:`petzoo.{model}` (see docs/models.md)."
    return enum
