"""torch.hub entry points: ``torch.hub.load("<owner>/petzoo", "segnet_dsc", weights="DEFAULT")``."""
dependencies = ["torch", "torchvision", "timm", "safetensors", "huggingface_hub"]

from petzoo import get_weight  # noqa: E402,F401
from petzoo.models import fcn, segnet, segnet_dsc, unet, vit_seg  # noqa: E402,F401
