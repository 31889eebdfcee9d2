"""The one contract every petzoo model states the same way.

A model is a :class:`SegmentationModel`: ``forward`` takes a float batch
``(N, in_channels, H, W)`` normalised by its weight's ``transforms()`` and returns raw
logits ``(N, num_classes, H, W)`` at the input's resolution. Which sizes it takes is
said by two attributes, read by the builder, the CLI, ``petzoo.profile``, publish.py,
the benchmarks and the tests (nothing branches on a model's name):

- ``size_multiple``: H and W must be multiples of it (the network's total stride);
- ``fixed_size``: ``(H, W)`` when the model takes only that size (e.g. a ViT whose
  position embedding is learnt for one grid), else ``None``.

Input checks live here, once (as in segmentation_models_pytorch's base model);
subclasses implement :meth:`forward_logits` and pass every encoder feature their
decoder reads through :meth:`decoder_input` (the identity unless a training step sets
``feature_perturbation``, as UniMatch's feature-perturbation stream does).
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple, Union

import torch
from torch import nn


class SegmentationModel(nn.Module):
    #: H and W must be multiples of this (instances may override, e.g. U-Net's depth).
    size_multiple: int = 1
    #: The only input (H, W) the model takes, or None (any multiple of ``size_multiple``).
    fixed_size: Optional[Tuple[int, int]] = None
    #: While set (by a training step, e.g. :class:`petzoo.pseudo.UniMatch`), applied to every encoder
    #: feature the decoder reads; None at inference and in ordinary training.
    feature_perturbation: Optional[Callable[[torch.Tensor], torch.Tensor]] = None

    def __init__(self, num_classes: int, in_channels: int):
        super().__init__()
        for arg, value in (("num_classes", num_classes), ("in_channels", in_channels)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{type(self).__name__}: {arg} must be an int >= 1, got {value!r} "
                                f"({type(value).__name__})")
        if num_classes < 1 or in_channels < 1:
            raise ValueError(
                f"{type(self).__name__}: num_classes and in_channels must be >= 1, "
                f"got num_classes={num_classes}, in_channels={in_channels}"
            )
        self.num_classes = num_classes
        self.in_channels = in_channels

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.forward_logits(x)

    def decoder_input(self, feature: torch.Tensor) -> torch.Tensor:
        """An encoder feature on its way into the decoder (a skip or the deepest map; ViT: the tokens):
        unchanged, or ``feature_perturbation(feature)`` while a training step sets one."""
        perturb = self.feature_perturbation
        return feature if perturb is None else perturb(feature)

    def check_input(self, x: torch.Tensor) -> None:
        """ValueError, in one line naming the model, unless ``x`` is a batch this model takes."""
        name = type(self).__name__
        if x.dim() != 4:
            raise ValueError(f"{name}: expected a 4-D batch (N, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{name}: expected {self.in_channels} input channels (N, {self.in_channels}, H, W), "
                f"got shape {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise ValueError(f"{name}: expected a floating-point batch (see weights.transforms()), got {x.dtype}")
        h, w = x.shape[-2:]
        if self.fixed_size is not None and (h, w) != tuple(self.fixed_size):
            fh, fw = self.fixed_size
            raise ValueError(
                f"{name}: expected input (N, C, {fh}, {fw}) (fixed by the configuration), got {tuple(x.shape)}"
            )
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(
                f"{name}: input height and width must be multiples of {self.size_multiple}, got {h}x{w}"
            )

    def valid_size(self, size: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
        """The input (H, W) this model takes that is nearest to ``size`` (its fixed size, if it has one)."""
        if self.fixed_size is not None:
            return tuple(self.fixed_size)  # type: ignore[return-value]
        h, w = (size, size) if isinstance(size, int) else size
        m = self.size_multiple
        return max(m, round(h / m) * m), max(m, round(w / m) * m)
