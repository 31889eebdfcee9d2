"""Training-time data: a resized uint8 tensor cache and joint image+mask augmentation."""
from __future__ import annotations

import hashlib
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from tqdm.auto import tqdm

from ._io import atomic_write, cache_dir
from .datasets import OxfordIIITPet
from .transforms import IMAGENET_MEAN, IMAGENET_STD, Size, as_hw, normalize, resize_image, resize_mask

AUGMENTATIONS = ("none", "basic", "rich")


def _resized_cache_path(dataset, h: int, w: int, interpolation: str):
    """Cache file of ``dataset`` at h x w: the key covers the data root, split, size,
    interpolation and the data's content fingerprint, so changed files never serve a stale cache."""
    key_src = f"{dataset.root.resolve()}|{dataset.split}|{h}x{w}|{interpolation}|{dataset.fingerprint()}"
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    return cache_dir() / f"oxford_pet_{dataset.split}_{h}x{w}_{interpolation}_{key}.pt"


def resized_split(
    dataset: OxfordIIITPet, size: Size, interpolation: str = "bilinear", progress: bool = True
) -> Tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N,3,H,W), masks uint8 (N,H,W)) of a split at ``size``, cached on disk."""
    h, w = as_hw(size)
    path = _resized_cache_path(dataset, h, w, interpolation)
    if path.is_file():
        cached = torch.load(path, weights_only=True)
        return cached["images"], cached["masks"]
    images = torch.empty(len(dataset), 3, h, w, dtype=torch.uint8)
    masks = torch.empty(len(dataset), h, w, dtype=torch.uint8)
    for i in tqdm(range(len(dataset)), desc=f"caching {dataset.split} at {h}x{w}", disable=not progress):
        image, mask = dataset.load(i)
        images[i] = resize_image(torch.from_numpy(image).permute(2, 0, 1), (h, w), interpolation)
        masks[i] = resize_mask(torch.from_numpy(mask), (h, w))
    atomic_write(path, lambda tmp: torch.save({"images": images, "masks": masks}, tmp))
    return images, masks


def resized_images(dataset, size: Size, interpolation: str = "bilinear", progress: bool = True) -> torch.Tensor:
    """uint8 images (N, 3, H, W) of an image-only dataset (e.g. the unlabeled split) at ``size``, cached like
    :func:`resized_split`."""
    h, w = as_hw(size)
    path = _resized_cache_path(dataset, h, w, interpolation)
    if path.is_file():
        return torch.load(path, weights_only=True)["images"]
    images = torch.empty(len(dataset), 3, h, w, dtype=torch.uint8)
    for i in tqdm(range(len(dataset)), desc=f"caching {dataset.split} at {h}x{w}", disable=not progress):
        images[i] = resize_image(dataset[i], (h, w), interpolation)
    atomic_write(path, lambda tmp: torch.save({"images": images}, tmp))
    return images


def build_augmentation(name: str, seed: Optional[int] = None):
    """albumentations pipeline applied jointly to image and mask, or None for "none".

    "basic" is the seed recipe (horizontal flip, contrast jitter 0.3); "rich" adds the
    seed U-Net's rotation, channel drop and coarse dropout.
    """
    if name not in AUGMENTATIONS:
        raise ValueError(f"--aug must be one of {AUGMENTATIONS}, got {name!r}")
    if name == "none":
        return None
    import albumentations as A

    ops = [A.HorizontalFlip(p=0.5), A.ColorJitter(brightness=0, contrast=0.3, saturation=0, hue=0, p=1.0)]
    if name == "rich":
        ops += [
            A.Affine(rotate=(-15, 15), scale=(0.9, 1.1), p=0.5),
            A.ChannelDropout(channel_drop_range=(1, 1), p=0.1),
            A.CoarseDropout(num_holes_range=(1, 4), hole_height_range=(0.05, 0.15), hole_width_range=(0.05, 0.15), p=0.3),
        ]
    return A.Compose(ops, seed=seed)


class TensorSegmentationSet(torch.utils.data.Dataset):
    """Items (normalised float image (3,H,W), int64 mask (H,W)) from uint8 tensors, augmented."""

    def __init__(
        self,
        images: torch.Tensor,
        masks: torch.Tensor,
        augment=None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ):
        self.images, self.masks, self.augment = images, masks, augment
        self.mean, self.std = mean, std

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        image, mask = self.images[index], self.masks[index]
        if self.augment is not None:
            out = self.augment(image=image.permute(1, 2, 0).numpy(), mask=mask.numpy())
            image = torch.from_numpy(np.ascontiguousarray(out["image"])).permute(2, 0, 1)
            mask = torch.from_numpy(np.ascontiguousarray(out["mask"]))
        return normalize(image, self.mean, self.std), mask.long()
