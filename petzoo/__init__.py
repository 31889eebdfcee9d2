"""petzoo: a torchvision-style model zoo for Oxford-IIIT Pet segmentation."""
from ._api import (
    CATEGORIES,
    Weights,
    WeightsEnum,
    get_model,
    get_model_builder,
    get_model_weights,
    get_weight,
    list_models,
    register_model,
)
from .models import (
    FCN_Weights,
    SegNet_Weights,
    SegNetDSC_Weights,
    UNet_Weights,
    ViTSeg_Weights,
    fcn,
    segnet,
    segnet_dsc,
    unet,
    vit_seg,
)
from .hub import from_pretrained, save_pretrained
from .inference import cutout, overlay, replace_background, segment
from .profile import summary

__version__ = "0.1.0"
