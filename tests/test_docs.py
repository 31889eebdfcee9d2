"""Generated docs and the README stay true to the published weights and the code."""
from __future__ import annotations

from pathlib import Path

import petzoo
from petzoo._registry import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parent.parent


def default_model_rows() -> dict:
    """docs/default-model.md's table: model -> its row (column name -> cell)."""
    lines = [line for line in (ROOT / "docs" / "default-model.md").read_text().splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
        rows[cells["model"]] = cells
    return rows


def test_default_model_doc_names_the_code_default_and_current_weights():
    doc = (ROOT / "docs" / "default-model.md").read_text()
    assert f"default model by the rule: **{DEFAULT_MODEL}**" in doc, "rerun benchmarks/default_model.py --markdown"
    rows = default_model_rows()
    assert sorted(rows) == sorted(petzoo.list_models())
    for name, row in rows.items():
        weights = petzoo.get_model_weights(name).DEFAULT
        assert row["weight"] == weights.name, f"{name}: the doc measured {row['weight']}, DEFAULT is {weights.name}"
        assert row["test pixel acc"] == f"{weights.meta['_metrics']['test']['pixel_acc'] * 100:.2f} %"
        assert row["input px"] == str(weights.meta["image_size"])


def test_readme_default_model_numbers_come_from_the_doc():
    readme = " ".join((ROOT / "README.md").read_text().split())
    row = default_model_rows()[DEFAULT_MODEL]
    weights = petzoo.get_model_weights(DEFAULT_MODEL).DEFAULT
    assert f"`{type(weights).__name__}.DEFAULT`" in readme
    assert f"forward pass {row['forward ms']} ms" in readme
    assert f"{row['test pixel acc']} test pixel" in readme
    assert row["real time"] == "yes"
