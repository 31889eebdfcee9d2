"""The petzoo command line, run as a user would."""
import subprocess
import sys

from conftest import ROOT


def run(*args):
    return subprocess.run([sys.executable, "-m", "petzoo", *args], cwd=ROOT, capture_output=True, text=True)


def test_summary_table_lists_every_model_with_params_and_gmacs():
    out = run("summary", "--image-size", "64")
    assert out.returncode == 0, out.stderr
    for name in ["fcn", "segnet", "segnet_dsc", "unet", "vit_seg"]:
        assert f"| {name} |" in out.stdout
    assert "| segnet_dsc | 1.75 M | 0.269 |" in out.stdout


def test_summary_of_one_model_prints_the_torchinfo_layer_table():
    out = run("summary", "segnet_dsc", "--depth", "1")
    assert out.returncode == 0, out.stderr
    assert "Mult-Adds" in out.stdout and "Total params: 1,749,668" in out.stdout


def test_bad_size_is_one_clear_line_and_exit_2():
    out = run("summary", "segnet", "--image-size", "100")
    assert out.returncode == 2
    assert out.stderr.strip() == "petzoo summary: error: SegNet: input height and width must be multiples of 16, got 100x100"


def test_bench_times_the_model_as_built_and_as_segment_runs_it():
    out = run("bench", "--models", "unet", "--image-size", "64", "--seconds", "0.1")
    assert out.returncode == 0, out.stderr
    header, _, row = out.stdout.strip().splitlines()
    assert header == "| model | size | batch | img/s as built | img/s optimized |"
    speeds = [float(v) for v in row.strip("|").split("|")[3:]]
    assert row.startswith("| unet | 64 | 1 |") and all(v > 0 for v in speeds)
