"""``petzoo serve``: an HTTP API and a web page for cutting pets out (Starlette on uvicorn, the ``serve`` extra).

    petzoo serve [--host 127.0.0.1] [--port 8000] [--model M] [--weights W] [--backend auto|torch|onnxruntime]
                 [--workers N] [--max-upload-mb 25] [--max-pixels 50e6] [--queue 16]

Endpoints (OpenAPI at ``/openapi.json``, rendered at ``/docs``):

- ``GET /`` the web page (drag and drop photos, choose model and mode, see and download the result);
  everything it needs ships in the package (``petzoo/web/``): no CDN, works offline.
- ``GET /v1/models`` every model: DEFAULT weight, weights, input size, params, GMACs and measured test
  metrics (from each weight's ``meta``), CPU ms of the models this server has loaded (measured here).
- ``POST /v1/segment`` a photo as a multipart ``file`` or as the raw body; options as query parameters or
  form fields: ``model``, ``weights``, ``mode`` (mask | overlay | cutout | background), ``background``
  (a colour), ``matting``, ``clean``. Answers the PNG at the photo's own upright size (EXIF applied),
  with ``X-Petzoo-Model``, ``X-Petzoo-Weights``, ``X-Petzoo-Size`` and ``Server-Timing`` headers.
- ``GET /healthz`` 200 once the default model is loaded, 503 before.

Errors are a 4xx/5xx with ``{"error": "<one line>"}``: 400 bad option, colour or mode, a truncated or
unreadable image; 404 unknown model or weight; 413 a body over ``--max-upload-mb`` (refused from its
Content-Length before the body is read, or as soon as a chunked body passes the limit) or an image over
``--max-pixels`` (refused from its header, never decoded); 415 not an image; 503 with ``Retry-After``
when ``--workers`` are busy and ``--queue`` requests already wait.

Each model is loaded once and shared by the worker threads (``petzoo.inference`` caches it).
"""
from __future__ import annotations

import asyncio
import io
import logging
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

WEB = Path(__file__).with_name("web")
logger = logging.getLogger("petzoo.serve")
MODES = ("mask", "overlay", "cutout", "background")
TRUE, FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class Settings:
    model: str
    weights: str = "DEFAULT"
    backend: str = "torch"
    workers: int = 1
    max_upload_mb: float = 25.0
    max_pixels: float = 50e6
    queue: int = 16

    @property
    def max_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)


class Segmenter:
    """Loads models once, runs requests on ``workers`` threads, refuses more than ``workers + queue`` at once."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="petzoo-serve")
        self.admitted = 0
        self.lock = threading.Lock()
        self.ready = False
        self.cpu_ms: Dict[Tuple[str, str], float] = {}

    def admit(self) -> None:
        with self.lock:
            if self.admitted >= self.settings.workers + self.settings.queue:
                raise HTTPError(503, f"busy: {self.settings.workers} worker(s) running and {self.settings.queue} "
                                     "request(s) waiting; retry shortly", {"Retry-After": "1"})
            self.admitted += 1

    def leave(self) -> None:
        with self.lock:
            self.admitted -= 1

    def resolve(self, model: str, weights: str):
        """(model name, weight member): 404 in one line for an unknown model or weight."""
        import petzoo

        model = model.lower()
        if model not in petzoo.list_models():
            raise HTTPError(404, f"unknown model {model!r}; models: {', '.join(petzoo.list_models())}")
        try:
            member = petzoo.get_model_weights(model).verify(weights)
        except (ValueError, TypeError) as err:
            raise HTTPError(404, str(err)) from None
        if member is None:
            raise HTTPError(400, "weights: name a published weight (e.g. DEFAULT)")
        return model, member

    def load(self, model: str, weights: str) -> None:
        """Load (once) and time the model: the forward pass at its input size, median of 5, batch 1."""
        import torch

        from .inference import _resolve

        key = (model, weights)
        if key in self.cpu_ms:
            return
        net, member, _, optimize = _resolve(model, weights, "cpu", True, self.settings.backend)
        x = torch.zeros(1, 3, *member.transforms().size)
        if optimize:
            x = x.contiguous(memory_format=torch.channels_last)
        times = []
        with torch.inference_mode():
            for _ in range(6):
                start = time.perf_counter()
                net(x)
                times.append((time.perf_counter() - start) * 1000)
        self.cpu_ms[key] = round(statistics.median(times[1:]), 2)

    def run(self, body: bytes, options: Dict[str, Any]) -> Tuple[bytes, Dict[str, str]]:
        """Decode, segment, compose, encode one photo (in a worker thread)."""
        from . import inference as S

        from .images import ImageLoadError

        timings = {}
        t0 = time.perf_counter()
        image = decode(body, self.settings.max_pixels, full=options["mode"] != "mask")
        timings["decode"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.load(options["model"], options["weights"])
        try:
            mask = S.segment(image, model=options["model"], weights=options["weights"], device="cpu",
                             backend=self.settings.backend)
        except ImageLoadError as err:
            raise HTTPError(400, f"unreadable image: {str(err).removeprefix('PIL image: ')}") from None
        size = mask.shape
        if options["clean"]:
            mask = S.clean_mask(mask)
        timings["segment"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        mode = options["mode"]
        if mode == "mask":
            result = S.mask_image(mask)
        elif mode == "overlay":
            result = S.overlay(image, mask)
        elif mode == "cutout":
            result = S.cutout(image, mask, matting=options["matting"])
        else:
            result = S.replace_background(image, mask, options["background"], matting=options["matting"])
        out = io.BytesIO()
        result.save(out, format="PNG")
        timings["compose"] = time.perf_counter() - t0
        headers = {
            "X-Petzoo-Model": options["model"], "X-Petzoo-Weights": options["weights_name"],
            "X-Petzoo-Size": f"{size[1]}x{size[0]}",
            "Server-Timing": ", ".join(f"{k};dur={v * 1000:.1f}" for k, v in timings.items()),
        }
        return out.getvalue(), headers


def decode(body: bytes, max_pixels: float, full: bool):
    """The photo: an RGB array at its full upright size (``full``: results are composed from it), else the
    opened PIL image, which ``segment()`` decodes at the scale the model needs (a large JPEG at 1/2 to 1/8)
    and whose mask it returns at the full upright size. The pixel count is checked from the header, before
    anything is decoded."""
    from PIL import Image, UnidentifiedImageError

    from .images import ImageLoadError, load_image

    if not body:
        raise HTTPError(400, "empty body: send a photo as the multipart field 'file' or as the raw body")
    try:
        im = Image.open(io.BytesIO(body))
    except Image.DecompressionBombError as err:  # Pillow's own limit, checked from the header too
        raise HTTPError(413, f"too many pixels ({err})") from None
    except UnidentifiedImageError:
        raise HTTPError(415, f"not an image ({len(body)} bytes that no image format recognises)") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise HTTPError(400, f"unreadable image ({err})") from None
    w, h = im.size
    if w * h > max_pixels:
        raise HTTPError(413, f"too many pixels: {w}x{h} = {w * h / 1e6:.1f} MP, over this server's "
                             f"{max_pixels / 1e6:g} MP (--max-pixels)")
    if not full:
        return im
    try:
        return load_image(im)[0]
    except ImageLoadError as err:
        raise HTTPError(400, f"unreadable image: {str(err).removeprefix('PIL image: ')}") from None
    except Image.DecompressionBombError as err:
        raise HTTPError(413, f"too many pixels ({err})") from None


def parse_options(segmenter: Segmenter, values: Dict[str, str]) -> Dict[str, Any]:
    from .inference import check_colour, parse_colour

    known = {"model", "weights", "mode", "background", "matting", "clean"}
    unknown = sorted(set(values) - known - {"file"})
    if unknown:
        raise HTTPError(400, f"unknown option {unknown[0]!r}; options: {', '.join(sorted(known))}")
    mode = values.get("mode", "cutout")
    if mode not in MODES:
        raise HTTPError(400, f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    flags = {}
    for flag in ("matting", "clean"):
        text = values.get(flag, "").strip().lower()
        if text not in TRUE + FALSE:
            raise HTTPError(400, f"{flag}: expected true or false, got {values[flag]!r}")
        flags[flag] = text in TRUE
    if flags["matting"] and mode not in ("cutout", "background"):
        raise HTTPError(400, f"matting applies to mode cutout or background, not {mode}")
    if flags["matting"]:
        try:
            import pymatting  # noqa: F401
        except ImportError:
            raise HTTPError(400, "matting needs pymatting on the server: pip install 'petzoo[matting]'") from None
    background = None
    if mode == "background":
        text = values.get("background")
        if not text:
            raise HTTPError(400, "mode background needs background=<colour> (e.g. #2e8b57 or 46,139,87)")
        try:
            background = check_colour(parse_colour(text))
        except ValueError as err:
            raise HTTPError(400, f"background: {err}") from None
    elif values.get("background"):
        raise HTTPError(400, f"background applies to mode background, not {mode}")
    model, member = segmenter.resolve(values.get("model") or segmenter.settings.model,
                                      values.get("weights") or segmenter.settings.weights)
    return {"model": model, "weights": member.name, "weights_name": _canonical(member), "mode": mode,
            "background": background, **flags}


def _canonical(member) -> str:
    """The member's own name (DEFAULT is an alias: say which weight it is)."""
    for name, m in type(member).__members__.items():
        if m is member and name != "DEFAULT":
            return f"{type(member).__name__}.{name}"
    return repr(member)


def models_table(segmenter: Segmenter) -> list:
    import petzoo

    rows = []
    for name in petzoo.list_models():
        enum = petzoo.get_model_weights(name)
        default = enum.__members__.get("DEFAULT")
        row: Dict[str, Any] = {"model": name, "default_weights": _canonical(default) if default else None,
                               "weights": [w for w in enum.__members__ if w != "DEFAULT"]}
        if default is not None:
            meta = default.meta
            metrics = meta.get("_metrics", {})
            row.update({
                "input_size": meta["image_size"], "params": meta.get("num_params"), "gmacs": meta.get("_ops"),
                "test_pixel_acc": metrics.get("test", {}).get("pixel_acc"),
                "test_miou": metrics.get("test", {}).get("miou"),
                "other_breeds_pixel_acc": metrics.get("other_breeds", {}).get("pixel_acc"),
                "cpu_ms": segmenter.cpu_ms.get((name, default.name)),
            })
        rows.append(row)
    return rows


OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "petzoo serve", "description": "Cut pets out of photos (Oxford-IIIT Pet segmentation).",
             "version": "1"},
    "paths": {
        "/v1/segment": {"post": {
            "summary": "Segment one photo; the PNG comes back at the photo's own upright size.",
            "parameters": [
                {"name": "model", "in": "query", "schema": {"type": "string"}, "description": "zoo model (GET /v1/models)"},
                {"name": "weights", "in": "query", "schema": {"type": "string", "default": "DEFAULT"}},
                {"name": "mode", "in": "query", "schema": {"type": "string", "enum": list(MODES), "default": "cutout"}},
                {"name": "background", "in": "query", "schema": {"type": "string"},
                 "description": "colour for mode background: #rrggbb, rgb(r,g,b), hsl(...), a name or r,g,b"},
                {"name": "matting", "in": "query", "schema": {"type": "boolean", "default": False}},
                {"name": "clean", "in": "query", "schema": {"type": "boolean", "default": False}},
            ],
            "requestBody": {"required": True, "content": {
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
                "image/*": {"schema": {"type": "string", "format": "binary"}}}},
            "responses": {
                "200": {"description": "PNG; headers X-Petzoo-Model, X-Petzoo-Weights, X-Petzoo-Size, Server-Timing",
                        "content": {"image/png": {}}},
                "400": {"description": "bad option, colour or mode; truncated or unreadable image"},
                "404": {"description": "unknown model or weights"},
                "413": {"description": "body over --max-upload-mb, or image over --max-pixels"},
                "415": {"description": "not an image"},
                "503": {"description": "all workers busy and the queue full (Retry-After)"}}}},
        "/v1/models": {"get": {"summary": "Every model with its DEFAULT weight, input size, params, metrics",
                               "responses": {"200": {"description": "JSON list"}}}},
        "/healthz": {"get": {"summary": "200 once the default model is loaded, 503 before",
                             "responses": {"200": {"description": "ready"}, "503": {"description": "loading"}}}},
    },
}


def create_app(settings: Settings):
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.formparsers import MultiPartException, MultiPartParser
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Route

    check_settings(settings)
    segmenter = Segmenter(settings)

    def error(err: HTTPError) -> Response:
        return JSONResponse({"error": err.message}, status_code=err.status, headers=err.headers)

    async def read_body(request) -> bytes:
        """The body, refused (413) from its Content-Length before reading, or once it passes the limit."""
        limit = settings.max_bytes
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise HTTPError(400, f"bad Content-Length {length!r}")
            if int(length) > limit:
                raise HTTPError(413, f"body of {int(length) / 2**20:.1f} MB is over this server's "
                                     f"{settings.max_upload_mb:g} MB (--max-upload-mb)")
        chunks, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise HTTPError(413, f"body over this server's {settings.max_upload_mb:g} MB (--max-upload-mb)")
            chunks.append(chunk)
        return b"".join(chunks)

    async def segment(request):
        try:
            segmenter.admit()
        except HTTPError as err:
            return error(err)
        try:
            body = await read_body(request)
            values = dict(request.query_params)
            if request.headers.get("content-type", "").startswith("multipart/form-data"):
                async def replay():
                    yield body

                try:
                    form = await MultiPartParser(request.headers, replay(), max_files=1, max_fields=16,
                                                 max_part_size=settings.max_bytes).parse()
                except MultiPartException as err:
                    raise HTTPError(400, f"bad multipart body ({err.message})") from None
                upload = form.get("file")
                if upload is None or isinstance(upload, str):
                    raise HTTPError(400, "multipart body without a 'file' field holding the photo")
                body = await upload.read()
                await upload.close()
                values.update({k: v for k, v in form.items() if isinstance(v, str)})
            options = parse_options(segmenter, values)
            loop = asyncio.get_running_loop()
            png, headers = await loop.run_in_executor(segmenter.pool, segmenter.run, body, options)
            return Response(png, media_type="image/png", headers=headers)
        except HTTPError as err:
            return error(err)
        except Exception as err:  # a bug, not the client's fault: still one JSON line, and the server goes on
            logger.exception("POST /v1/segment failed")
            return JSONResponse({"error": f"internal error: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"},
                                status_code=500)
        finally:
            segmenter.leave()

    async def models(request):
        return JSONResponse(models_table(segmenter))

    async def healthz(request):
        if not segmenter.ready:
            return JSONResponse({"status": "loading", "model": settings.model}, status_code=503,
                                headers={"Retry-After": "1"})
        return JSONResponse({"status": "ready", "model": settings.model, "weights": settings.weights,
                             "backend": settings.backend, "workers": settings.workers})

    async def openapi(request):
        return JSONResponse(OPENAPI)

    def static(name: str, media_type: str):
        async def handler(request):
            return FileResponse(WEB / name, media_type=media_type)
        return handler

    @asynccontextmanager
    async def lifespan(app):
        loop = asyncio.get_running_loop()

        def warm():
            segmenter.load(settings.model, settings.weights)
            segmenter.ready = True

        loop.run_in_executor(segmenter.pool, warm)  # serving starts now; /healthz says when the model is in
        yield
        segmenter.pool.shutdown(wait=False, cancel_futures=True)

    app = Starlette(routes=[
        Route("/", static("index.html", "text/html"), methods=["GET"]),
        Route("/app.js", static("app.js", "text/javascript"), methods=["GET"]),
        Route("/style.css", static("style.css", "text/css"), methods=["GET"]),
        Route("/docs", static("docs.html", "text/html"), methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/segment", segment, methods=["POST"]),
    ], lifespan=lifespan)
    app.state.segmenter = segmenter
    return app


def check_settings(settings: Settings) -> None:
    """One line (ValueError) for a bad option, before the server starts."""
    import petzoo

    settings.model = settings.model.lower()
    if settings.workers < 1 or settings.queue < 0:
        raise ValueError(f"--workers must be >= 1 and --queue >= 0, got {settings.workers}, {settings.queue}")
    if not settings.max_upload_mb > 0 or not settings.max_pixels >= 1:
        raise ValueError("--max-upload-mb and --max-pixels must be positive")
    if settings.model not in petzoo.list_models():
        raise ValueError(f"--model {settings.model!r}: unknown; models: {', '.join(petzoo.list_models())}")
    member = petzoo.get_model_weights(settings.model).verify(settings.weights)
    if member is None:
        raise ValueError("--weights none: the server needs a published weight (e.g. DEFAULT)")
    settings.weights = member.name  # DEFAULT is an alias: one cache entry per weight file


def serve(host: str, port: int, settings: Settings, log_level: str = "info") -> None:
    try:
        import python_multipart  # noqa: F401  (Starlette's multipart parser)
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as err:
        raise ImportError(f"petzoo serve needs the serve extra: pip install 'petzoo[serve]' ({err})") from None
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)
