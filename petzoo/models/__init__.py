"""The petzoo model families, one file each."""
from .fcn import *  # noqa: F401,F403
from .segnet import *  # noqa: F401,F403
from .unet import *  # noqa: F401,F403
from .vit_seg import *  # noqa: F401,F403
