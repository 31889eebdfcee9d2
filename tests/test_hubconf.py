"""torch.hub entry points from a local checkout."""
import importlib.util

import torch

import petzoo
from conftest import ROOT


def test_hubconf_exposes_exactly_the_public_entry_points():
    # torch.hub.list only takes GitHub repos (no source="local" in torch 2.14);
    # this applies its rule (public callables of hubconf.py) to the checkout.
    spec = importlib.util.spec_from_file_location("hubconf", ROOT / "hubconf.py")
    hubconf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hubconf)
    entries = [n for n in dir(hubconf) if callable(getattr(hubconf, n)) and not n.startswith("_")]
    assert sorted(entries) == sorted(petzoo.list_models() + ["get_weight"])
    assert set(hubconf.dependencies) >= {"torch", "timm", "safetensors"}


def test_hub_load_builds_segnet_dsc():
    model = torch.hub.load(str(ROOT), "segnet_dsc", source="local", num_classes=3)
    assert isinstance(model, petzoo.models.SegNet)
    assert model.eval()(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)




def test_hub_load_with_published_weights_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = torch.hub.load(str(ROOT), "unet", source="local", weights="DEFAULT")
    assert isinstance(model, petzoo.models.UNet)
    get_weight = torch.hub.load(str(ROOT), "get_weight", "UNet_Weights.DEFAULT", source="local")
    assert get_weight is petzoo.UNet_Weights.DEFAULT and get_weight.name.startswith("OXFORD_PET_V")
