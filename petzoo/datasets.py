"""Oxford-IIIT Pet segmentation data (standard layout), read from outside the repo."""
from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ._registry import CATEGORIES

DATA_ENV = "PETZOO_DATA"
#: Breeds held out in the shared copy (``annotations/other_breeds.txt``): never train on them.
HELD_OUT_BREEDS = ("British_Shorthair", "Maine_Coon", "great_pyrenees", "Bengal", "Bombay")


def default_root() -> Path:
    """``$PETZOO_DATA``, else ``../shared/data/oxford-iiit-pet`` beside this source checkout."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "oxford-iiit-pet"


def resolve_root(root: Union[str, Path, None]) -> Path:
    path = Path(root) if root is not None else default_root()
    if not (path / "annotations").is_dir() or not (path / "images").is_dir():
        raise FileNotFoundError(
            f"Oxford-IIIT Pet not found at {path} (expected images/ and annotations/ there). "
            f"Pass root=..., or set ${DATA_ENV} to the folder holding images/ and annotations/."
        )
    return path


def read_image(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB; a clear error naming the file if it is missing or unreadable."""
    try:
        with Image.open(path) as im:
            return np.array(im.convert("RGB"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: image file is missing") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"{path}: not a readable image ({err})") from None


def read_trimap(path: Path) -> np.ndarray:
    """(H, W) uint8 class ids: trimap 1 pet, 2 background, 3 border -> 0, 1, 2."""
    try:
        with Image.open(path) as im:
            trimap = np.array(im)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: trimap file is missing") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"{path}: not a readable trimap PNG ({err})") from None
    if trimap.ndim != 2:
        raise ValueError(f"{path}: trimap must be single-channel, got shape {trimap.shape}")
    values = np.unique(trimap)
    if not set(values.tolist()) <= {1, 2, 3}:
        raise ValueError(f"{path}: trimap values must be 1, 2 or 3, found {values.tolist()}")
    return (trimap - 1).astype(np.uint8)


def read_list(path: Path) -> List[str]:
    """Stems from an Oxford list file (``stem class species breed`` lines, ``#`` comments)."""
    if not path.is_file():
        raise FileNotFoundError(f"split list {path} does not exist")
    stems = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            stems.append(line.split()[0])
    return stems


class OxfordIIITPet(torch.utils.data.Dataset):
    """Labeled split of Oxford-IIIT Pet: items are (image uint8 (3,H,W), mask int64 (H,W)).

    ``split`` names ``annotations/<split>.txt`` ("trainval", "test", "other_breeds", ...).
    ``transforms(image, mask)`` is applied to each item when given. Images keep their
    own size here; resizing is the transforms' job (see :mod:`petzoo.transforms`).
    """

    categories = CATEGORIES

    def __init__(
        self,
        root: Union[str, Path, None] = None,
        split: str = "trainval",
        transforms: Optional[Callable] = None,
    ):
        self.root = resolve_root(root)
        self.split = split
        list_file = self.root / "annotations" / f"{split}.txt"
        if not list_file.is_file():
            found = sorted(p.stem for p in (self.root / "annotations").glob("*.txt"))
            raise ValueError(f"unknown split {split!r}: {list_file} does not exist; found {found}")
        self.stems = read_list(list_file)
        self.transforms = transforms
        for stem in self.stems:
            for path in (self.image_path(stem), self.trimap_path(stem)):
                if not path.is_file():
                    raise FileNotFoundError(f"{path}: listed in {list_file} but missing")

    def image_path(self, stem: str) -> Path:
        return self.root / "images" / f"{stem}.jpg"

    def trimap_path(self, stem: str) -> Path:
        return self.root / "annotations" / "trimaps" / f"{stem}.png"

    def __len__(self) -> int:
        return len(self.stems)

    def load(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        """Raw (H, W, 3) uint8 image and (H, W) uint8 class mask at the file's size."""
        stem = self.stems[index]
        image = read_image(self.image_path(stem))
        mask = read_trimap(self.trimap_path(stem))
        if image.shape[:2] != mask.shape:
            raise ValueError(
                f"{self.image_path(stem)} is {image.shape[1]}x{image.shape[0]} but its trimap "
                f"{self.trimap_path(stem)} is {mask.shape[1]}x{mask.shape[0]}"
            )
        return image, mask

    def __getitem__(self, index: int):
        image, mask = self.load(index)
        image_t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        mask_t = torch.from_numpy(mask.astype(np.int64))
        if self.transforms is not None:
            return self.transforms(image_t, mask_t)
        return image_t, mask_t

    def subset(self, indices: Sequence[int], split: str) -> "OxfordIIITPet":
        """The items at ``indices`` as a split of its own named ``split`` (e.g. a validation split)."""
        sub = copy.copy(self)
        sub.stems = [self.stems[i] for i in indices]
        sub.split = split
        return sub

    def fingerprint(self) -> str:
        """sha256 over the list and every listed image and trimap's bytes (read once per instance
        and list of stems: training asks for it several times)."""
        return _memo_fingerprint(self, lambda stem: (self.image_path(stem), self.trimap_path(stem)))


def _memo_fingerprint(dataset, files_of) -> str:
    """sha256 over ``dataset.split``, each stem and the bytes of ``files_of(stem)``; remembered on the
    instance for its current (split, stems), so that a changed list (e.g. a thinned split) is re-read."""
    key = (dataset.split, tuple(dataset.stems))
    memo = getattr(dataset, "_fingerprint_memo", None)
    if memo is not None and memo[0] == key:
        return memo[1]
    digest = hashlib.sha256(dataset.split.encode())
    for stem in dataset.stems:
        digest.update(stem.encode())
        for path in files_of(stem):
            digest.update(path.read_bytes())
    dataset._fingerprint_memo = (key, digest.hexdigest())
    return dataset._fingerprint_memo[1]


def breed_of(stem: str) -> str:
    """'american_pit_bull_terrier_12' -> 'american_pit_bull_terrier'."""
    return stem.rsplit("_", 1)[0]


class UnlabeledOxfordIIITPet(torch.utils.data.Dataset):
    """The ``unlabeled`` split for semi-supervised training: items are uint8 images (3, H, W).

    Images without a trimap whose stem is in the *official trainval* list
    (``annotations/official/trainval.txt``), minus every image of the held-out breeds
    (:data:`HELD_OUT_BREEDS`). Official *test* images are never part of it, labeled or
    not, so weights trained with it stay clean for anyone who scores them on the
    official split.
    """

    split = "unlabeled"

    def __init__(self, root: Union[str, Path, None] = None):
        self.root = resolve_root(root)
        official = self.root / "annotations" / "official" / "trainval.txt"
        self.stems = [
            s for s in read_list(official)
            if breed_of(s) not in HELD_OUT_BREEDS
            and not (self.root / "annotations" / "trimaps" / f"{s}.png").is_file()
            and (self.root / "images" / f"{s}.jpg").is_file()
        ]

    def image_path(self, stem: str) -> Path:
        return self.root / "images" / f"{stem}.jpg"

    def __len__(self) -> int:
        return len(self.stems)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = read_image(self.image_path(self.stems[index]))
        return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)

    def breeds(self) -> List[str]:
        return sorted({breed_of(s) for s in self.stems})

    def fingerprint(self) -> str:
        """sha256 over the stems and every image's bytes (read once per instance and list of stems)."""
        return _memo_fingerprint(self, lambda stem: (self.image_path(stem),))


def describe_splits(root: Union[str, Path, None] = None) -> str:
    """One line per split: its size (``python -m petzoo.datasets``)."""
    lines = []
    for split in ("trainval", "test", "other_breeds"):
        lines.append(f"{split}: {len(OxfordIIITPet(root, split))} labeled images")
    unlabeled = UnlabeledOxfordIIITPet(root)
    lines.append(f"unlabeled: {len(unlabeled)} images of {len(unlabeled.breeds())} breeds "
                 f"(official trainval, no trimap, held-out breeds excluded)")
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe_splits())
