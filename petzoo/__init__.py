"""petzoo: a torchvision-style model zoo for Oxford-IIIT Pet segmentation."""
from ._registry import CATEGORIES, get_model_builder, get_model_weights, list_models, register_model
from ._weights import Weights, WeightsEnum
from .hub import from_pretrained, save_pretrained
from ._factory import get_model, get_weight
from .models import *  # noqa: F401,F403 (every family's builder, model class and weight enum)
from .inference import cutout, overlay, replace_background, segment
from .profile import summary

__version__ = "0.1.0"
