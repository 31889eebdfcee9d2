"""torch.hub entry points: ``torch.hub.load("<owner>/petzoo", "segnet_dsc", weights="DEFAULT")``.

One entry per registered model (``petzoo.list_models()``), plus ``get_weight``.
"""
dependencies = ["torch", "torchvision", "timm", "safetensors", "huggingface_hub"]

import petzoo as _petzoo  # noqa: E402
from petzoo import get_weight  # noqa: E402,F401

globals().update({_name: _petzoo.get_model_builder(_name) for _name in _petzoo.list_models()})
