"""The petzoo model families, one public module each; importing a module registers its builder.

Every module here whose name does not start with "_" is a family and is imported
below, its ``__all__`` re-exported: a new family is one new file (see
docs/adding-a-model.md).
"""
import importlib as _importlib
import pkgutil as _pkgutil

from ._base import SegmentationModel

__all__ = ["SegmentationModel"]
for _info in _pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        _family = _importlib.import_module(f"{__name__}.{_info.name}")
        globals().update({_name: getattr(_family, _name) for _name in _family.__all__})
        __all__ += list(_family.__all__)
