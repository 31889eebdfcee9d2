"""Writing files so that a reader never sees a half-written one."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Union


def atomic_write(path: Union[str, Path], write: Callable[[str], Any]) -> Path:
    """Call ``write(tmp_path)`` on a temp file beside ``path``, then rename it onto ``path``.

    The file gets the permissions of a plainly created one (0666 less the umask), not
    the owner-only mode of a temp file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a short temp name: the final name may already be near the file-name length limit
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".petzoo-", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_json(path: Union[str, Path], obj: Any) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2) + "\n"))


CACHE_ENV = "PETZOO_CACHE"


def cache_dir() -> Path:
    """``$PETZOO_CACHE``, else ``$XDG_CACHE_HOME/petzoo`` (default ``~/.cache/petzoo``)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "petzoo"
