"""Export zoo models to ONNX (fixed spatial size, dynamic batch)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

import torch
from torch import nn

from ._io import atomic_write


def export_onnx(model: nn.Module, size: Sequence[int], path: Union[str, Path], opset: int = 18) -> Path:
    """Write ``model`` as ONNX with input "image" (N, 3, H, W) and output "logits".

    The file appears only when complete (written to a temp file, then renamed).
    """
    h, w = (int(s) for s in size)
    example = torch.zeros(2, 3, h, w, dtype=next(model.parameters()).dtype)
    program = torch.onnx.export(
        model.eval(),
        (example,),
        input_names=["image"],
        output_names=["logits"],
        dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1024)},),
        opset_version=opset,
        dynamo=True,
        external_data=False,
        verbose=False,
    )
    return atomic_write(path, program.save)
