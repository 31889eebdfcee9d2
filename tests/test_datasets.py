"""OxfordIIITPet, the resize definition, the tensor cache and augmentation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from petzoo.data import TensorSegmentationSet, build_augmentation, cache_dir, resized_split
from petzoo.datasets import HELD_OUT_BREEDS, OxfordIIITPet, read_list
from petzoo.transforms import SegmentationPresetEval


def test_variable_size_images_load_with_classes_0_1_2(synthetic_root):
    ds = OxfordIIITPet(synthetic_root, "trainval")
    assert len(ds) == 16
    sizes = set()
    for image, mask in ds:
        assert image.dtype == torch.uint8 and image.shape[0] == 3
        assert mask.dtype == torch.int64 and mask.shape == image.shape[1:]
        assert set(mask.unique().tolist()) <= {0, 1, 2}
        sizes.add(tuple(mask.shape))
    assert len(sizes) > 1  # really variable sizes


def test_trimap_with_other_values_names_the_file(synthetic_root):
    bad = synthetic_root / "annotations" / "trimaps" / "Synthetic_0.png"
    Image.fromarray(np.full((40, 40), 7, np.uint8)).save(bad)
    with pytest.raises(ValueError, match=r"Synthetic_0\.png: trimap values must be 1, 2 or 3, found \[7\]"):
        OxfordIIITPet(synthetic_root, "trainval")[0]


def test_missing_listed_file_names_the_file(synthetic_root):
    (synthetic_root / "images" / "Synthetic_3.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"Synthetic_3\.jpg: listed in .*trainval\.txt but missing"):
        OxfordIIITPet(synthetic_root, "trainval")


def test_unreadable_image_names_the_file(synthetic_root):
    (synthetic_root / "images" / "Synthetic_2.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"Synthetic_2\.jpg: not a readable image"):
        OxfordIIITPet(synthetic_root, "trainval")[2]


def test_image_and_trimap_of_different_sizes_name_both_files(synthetic_root):
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(synthetic_root / "images" / "Synthetic_1.jpg")
    with pytest.raises(ValueError, match=r"Synthetic_1\.jpg is 12x10 but its trimap .*Synthetic_1\.png is"):
        OxfordIIITPet(synthetic_root, "trainval")[1]


def test_unknown_split_and_missing_root_are_clear(synthetic_root, tmp_path):
    with pytest.raises(ValueError, match="unknown split 'val'"):
        OxfordIIITPet(synthetic_root, "val")
    with pytest.raises(FileNotFoundError, match="PETZOO_DATA"):
        OxfordIIITPet(tmp_path / "nowhere")


def test_training_path_and_weight_transforms_give_identical_tensors(synthetic_root):
    ds = OxfordIIITPet(synthetic_root, "trainval")
    images, masks = resized_split(ds, (48, 64), progress=False)
    train_x, _ = TensorSegmentationSet(images, masks)[5]
    pil = Image.open(ds.image_path(ds.stems[5]))
    assert torch.equal(train_x, SegmentationPresetEval((48, 64))(pil))


def test_cache_is_written_once_and_keyed_by_content(synthetic_root):
    ds = OxfordIIITPet(synthetic_root, "trainval")
    first = resized_split(ds, 32, progress=False)
    files = list(cache_dir().glob("*.pt"))
    assert len(files) == 1 and not list(cache_dir().glob("*.tmp"))
    again = resized_split(ds, 32, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    h, w = ds[0][1].shape
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(ds.image_path(ds.stems[0]))
    changed = resized_split(OxfordIIITPet(synthetic_root, "trainval"), 32, progress=False)
    assert len(list(cache_dir().glob("*.pt"))) == 2
    assert not torch.equal(changed[0][0], first[0][0])


def test_fingerprint_is_read_once_per_instance_and_list_of_stems(synthetic_root):
    ds = OxfordIIITPet(synthetic_root, "trainval")
    first = ds.fingerprint()
    h, w = ds[0][1].shape
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(ds.image_path(ds.stems[0]))
    assert ds.fingerprint() == first  # remembered: the files are not read again
    assert OxfordIIITPet(synthetic_root, "trainval").fingerprint() != first  # a new instance reads them
    sub = ds.subset([1, 2], "trainval-val")
    fresh = OxfordIIITPet(synthetic_root, "trainval")
    fresh.stems, fresh.split = fresh.stems[1:3], "trainval-val"
    assert sub.fingerprint() == fresh.fingerprint() != first  # another list of stems is read anew


@pytest.mark.parametrize("name", ["basic", "rich"])
def test_augmentation_moves_image_and_mask_together(name):
    mask = np.zeros((64, 64), np.uint8)
    mask[10:30, 5:25] = 2
    mask[30:60, 30:50] = 1
    image = np.repeat((mask[..., None].astype(np.int32) * 100 + 20).astype(np.uint8), 3, axis=2)
    aug = build_augmentation(name, seed=3)
    for _ in range(10):
        out = aug(image=image, mask=mask)
        img, m = out["image"].astype(int).max(axis=2), out["mask"]
        for lo, hi in [(0, 1), (1, 2)]:  # contrast jitter keeps the order of class intensities
            if (m == lo).any() and (m == hi).any():
                inside_lo = np.median(img[m == lo])
                inside_hi = np.median(img[m == hi])
                assert inside_lo < inside_hi


def test_real_splits_match_the_shared_copy(data_root):
    assert len(OxfordIIITPet(data_root, "trainval")) == 500
    assert len(OxfordIIITPet(data_root, "test")) == 467
    held_out = OxfordIIITPet(data_root, "other_breeds")
    assert len(held_out) == 23
    trainval = set(read_list(data_root / "annotations" / "trainval.txt"))
    assert not trainval & set(held_out.stems)
    assert not [s for s in trainval if s.rsplit("_", 1)[0] in HELD_OUT_BREEDS]


def test_unlabeled_split_is_official_trainval_without_trimaps_or_held_out_breeds(data_root):
    from petzoo.datasets import UnlabeledOxfordIIITPet, breed_of

    unlabeled = UnlabeledOxfordIIITPet(data_root)
    assert len(unlabeled) == 2684 and len(unlabeled.breeds()) == 27  # counted on the shared copy
    stems = set(unlabeled.stems)
    official_test = set(read_list(data_root / "annotations" / "official" / "test.txt"))
    labeled = {s for split in ("trainval", "test", "other_breeds") for s in OxfordIIITPet(data_root, split).stems}
    assert not stems & official_test and not stems & labeled
    assert not {breed_of(s) for s in stems} & set(HELD_OUT_BREEDS)
    assert unlabeled[0].dtype == torch.uint8 and unlabeled[0].shape[0] == 3
