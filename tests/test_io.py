"""atomic_write: whole files or nothing, with ordinary permissions."""
import os
import stat

import pytest

from petzoo._io import atomic_write


def test_written_file_has_the_mode_of_a_plainly_created_one(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    out = atomic_write(tmp_path / "atomic.txt", lambda tmp: open(tmp, "w").write("x"))
    assert stat.S_IMODE(os.stat(out).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")

    def fail(tmp):
        open(tmp, "w").write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["t.txt"]
