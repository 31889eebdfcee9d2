"""The names an app developer reaches from ``import petzoo``."""
import numpy as np

import petzoo


def test_inference_helpers_are_top_level():
    image = np.zeros((40, 50, 3), np.uint8)
    mask = petzoo.segment(image)
    assert mask.shape == (40, 50)
    assert petzoo.cutout(image, mask).mode == "RGBA"
    assert petzoo.overlay(image, mask).size == (50, 40)
    assert petzoo.replace_background(image, mask, (0, 0, 255)).size == (50, 40)
