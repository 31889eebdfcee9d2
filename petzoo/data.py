"""Training-time data: a resized uint8 tensor cache and joint image+mask augmentation."""
from __future__ import annotations

import hashlib
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ._io import atomic_write, cache_dir
from .datasets import OxfordIIITPet
from .transforms import IMAGENET_MEAN, IMAGENET_STD, Size, as_hw, normalize, resize_image, resize_mask

AUGMENTATIONS = ("none", "basic", "rich", "strong")


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
    seed U-Net's rotation, channel drop and coarse dropout; "strong" is the
    self-training recipe's photometric perturbation (ST++ / FixMatch's strong view):
    flip, colour jitter, grayscale and Gaussian blur.
    """
    if name not in AUGMENTATIONS:
        raise ValueError(f"--aug must be one of {AUGMENTATIONS}, got {name!r}")
    if name == "none":
        return None
    import albumentations as A

    if name == "strong":
        return A.Compose([A.HorizontalFlip(p=0.5), *_strong_photometric()], seed=seed)
    ops = [A.HorizontalFlip(p=0.5), A.ColorJitter(brightness=0, contrast=0.3, saturation=0, hue=0, p=1.0)]
    if name == "rich":
        ops += [
            A.Affine(rotate=(-15, 15), scale=(0.9, 1.1), p=0.5),
            A.ChannelDropout(channel_drop_range=(1, 1), p=0.1),
            A.CoarseDropout(num_holes_range=(1, 4), hole_height_range=(0.05, 0.15), hole_width_range=(0.05, 0.15), p=0.3),
        ]
    return A.Compose(ops, seed=seed)


def _strong_photometric() -> list:
    """The photometric half of the "strong" augmentation: colour jitter, grayscale, Gaussian blur."""
    import albumentations as A

    return [
        A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=0.8),
        A.ToGray(p=0.2),
        A.GaussianBlur(blur_limit=(3, 7), sigma_limit=(0.1, 2.0), p=0.5),
    ]


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


def one_hot_targets(masks: torch.Tensor, num_classes: int, ignore_index: int = 255) -> torch.Tensor:
    """uint8 masks (N, H, W) -> uint8 targets x 255 (N, C, H, W); ``ignore_index`` pixels get all zeros."""
    valid = masks != ignore_index
    onehot = F.one_hot(torch.where(valid, masks, 0).long(), num_classes).permute(0, 3, 1, 2)
    return (onehot * valid.unsqueeze(1) * 255).to(torch.uint8)


class SoftTargetSet(torch.utils.data.Dataset):
    """Items (normalised float image (3,S,S), float target (C,S,S)) for semi-supervised training.

    ``images`` uint8 (N,3,H,W) and ``targets`` uint8 (N,C,H,W) are probabilities x 255: one-hot labels,
    a teacher's soft prediction, or all zeros where a pixel is ignored. Each item is a random
    resized crop to ``size`` covering 1/zoom^2 to all of the image's area (``zoom`` = 1: the
    whole image, resized), so close-ups up to ``zoom`` x are seen; ``augment`` then perturbs
    the image (and flips both). ``threshold``: targets become the one-hot argmax where its
    probability reaches it and are ignored elsewhere (hard pseudo-labels); None keeps them soft.
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, size: Size, zoom: float = 1.0,
                 augment=None, threshold: Optional[float] = None,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
        if images.shape[0] != targets.shape[0] or images.shape[-2:] != targets.shape[-2:]:
            raise ValueError(f"images {tuple(images.shape)} and targets {tuple(targets.shape)} do not match")
        if zoom < 1:
            raise ValueError(f"zoom must be >= 1, got {zoom}")
        import albumentations as A

        h, w = as_hw(size)
        self.images, self.targets, self.augment, self.threshold = images, targets, augment, threshold
        self.mean, self.std = mean, std
        self.crop = A.RandomResizedCrop(size=(h, w), scale=(1 / zoom**2, 1.0), ratio=(3 / 4, 4 / 3), p=1.0) \
            if zoom > 1 else A.Resize(h, w)

    def set_random_seed(self, seed: int) -> None:
        self.crop.set_random_seed(seed)
        if self.augment is not None:
            self.augment.set_random_seed(seed + 1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        out = self.crop(image=self.images[index].permute(1, 2, 0).numpy(), mask=self.targets[index].permute(1, 2, 0).numpy())
        if self.augment is not None:
            out = self.augment(image=out["image"], mask=out["mask"])
        image = torch.from_numpy(np.ascontiguousarray(out["image"])).permute(2, 0, 1)
        target = torch.from_numpy(np.ascontiguousarray(out["mask"])).permute(2, 0, 1).float() / 255
        if self.threshold is not None:
            conf, arg = target.max(0)
            target = F.one_hot(arg, target.shape[0]).permute(2, 0, 1).float() * (conf >= self.threshold)
        return normalize(image, self.mean, self.std), target


def cutmix(images: torch.Tensor, targets: torch.Tensor, p: float, generator: Optional[torch.Generator] = None):
    """CutMix between the images of a batch: with probability ``p`` each image gets a random box
    (up to half its side) of another image of the batch pasted in, its target the same box."""
    n, _, h, w = images.shape
    if n < 2 or p <= 0:
        return images, targets
    images, targets = images.clone(), targets.clone()
    partner = torch.randperm(n, generator=generator)
    for i in range(n):
        if torch.rand((), generator=generator) >= p or partner[i] == i:
            continue
        bh, bw = (int(torch.randint(s // 8, s // 2 + 1, (), generator=generator)) for s in (h, w))
        y, x = int(torch.randint(0, h - bh + 1, (), generator=generator)), int(torch.randint(0, w - bw + 1, (), generator=generator))
        j = int(partner[i])
        images[i, :, y:y + bh, x:x + bw] = images[j, :, y:y + bh, x:x + bw]
        targets[i, :, y:y + bh, x:x + bw] = targets[j, :, y:y + bh, x:x + bw]
    return images, targets


class WeakStrongSet(SoftTargetSet):
    """Items (strong image, weak image, target (C,S,S), labeled) for online weak-to-strong training (FixMatch).

    ``images`` uint8 (N,3,H,W): the first ``len(targets)`` are labeled, ``targets`` uint8 (L,C,H,W)
    their one-hot labels x 255; the rest are unlabeled, with an all-zero target for the training
    step to fill from the model's prediction on the weak view. The weak view is a random resized
    crop (as :class:`SoftTargetSet`) and a horizontal flip; the strong view is the weak view after
    the photometric half of ``--aug strong`` (colour jitter, grayscale, blur), so both views show
    the same pixels and the weak view's prediction labels the strong one.
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, size: Size, zoom: float = 1.0,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
        if len(targets) > len(images) or images.shape[-2:] != targets.shape[-2:]:
            raise ValueError(f"images {tuple(images.shape)} and labeled targets {tuple(targets.shape)} do not match")
        import albumentations as A

        super().__init__(images[: len(targets)], targets, size, zoom, None, None, mean, std)
        self.images = images
        self.num_classes = targets.shape[1]
        self.flip = A.HorizontalFlip(p=0.5)
        self.strong = A.Compose(_strong_photometric())

    @property
    def num_labeled(self) -> int:
        return len(self.targets)

    def set_random_seed(self, seed: int) -> None:
        self.crop.set_random_seed(seed)
        self.flip.set_random_seed(seed + 1)
        self.strong.set_random_seed(seed + 2)

    def __getitem__(self, index: int):
        image = self.images[index].permute(1, 2, 0).numpy()
        labeled = index < self.num_labeled
        target = (self.targets[index].permute(1, 2, 0).numpy() if labeled
                  else np.zeros((*image.shape[:2], self.num_classes), np.uint8))
        weak = self.flip(**self.crop(image=image, mask=target))
        strong = self.strong(image=weak["image"])["image"]
        as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)  # noqa: E731
        target = as_tensor(weak["mask"]).float() / 255
        return (normalize(as_tensor(strong), self.mean, self.std), normalize(as_tensor(weak["image"]), self.mean, self.std),
                target, torch.tensor(labeled))
