"""`petzoo serve` through a real uvicorn on 127.0.0.1 and a real HTTP client (issue 23)."""
from __future__ import annotations

import io
import json
import os
import socket
import struct
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("python_multipart")
httpx = pytest.importorskip("httpx")

import petzoo  # noqa: E402
from conftest import ROOT  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "petzoo", "serve", "--port", str(self.port), "--log-level", "warning", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read().decode()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server not ready in 300 s")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def server():
    s = Server("--workers", "2", "--queue", "8", "--max-upload-mb", "8", "--max-pixels", "30e6")
    yield s
    s.stop()


def jpeg(width: int, height: int, exif_orientation: int = None) -> bytes:
    skimage = pytest.importorskip("skimage.data")
    im = Image.fromarray(skimage.chelsea()).resize((width, height), Image.BILINEAR)
    out = io.BytesIO()
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        im.save(out, format="JPEG", quality=90, exif=exif)
    else:
        im.save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def photo() -> bytes:
    return jpeg(451, 300)


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header says width x height (what a decompression bomb looks like before decoding)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def post(server, body: bytes, multipart: bool = True, timeout: float = 120, **params) -> httpx.Response:
    url = f"{server.url}/v1/segment"
    if multipart:
        return httpx.post(url, params=params, files={"file": ("photo.jpg", body, "image/jpeg")}, timeout=timeout)
    return httpx.post(url, params=params, content=body, headers={"content-type": "image/jpeg"}, timeout=timeout)


def test_health_and_models_come_from_the_weights_meta(server):
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["status"] == "ready" and health["model"] == petzoo.inference.DEFAULT_MODEL
    rows = {r["model"]: r for r in httpx.get(f"{server.url}/v1/models").json()}
    assert sorted(rows) == petzoo.list_models()
    for name, row in rows.items():
        enum = petzoo.get_model_weights(name)
        if "DEFAULT" not in enum.__members__:
            assert row["default_weights"] is None
            continue
        meta = enum.DEFAULT.meta
        assert row["input_size"] == meta["image_size"] and row["params"] == meta["num_params"]
        assert row["test_pixel_acc"] == meta["_metrics"]["test"]["pixel_acc"]
    assert rows[health["model"]]["cpu_ms"] > 0  # loaded and timed by this server
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "/v1/segment" in spec["paths"]
    docs = httpx.get(f"{server.url}/docs").text
    page = httpx.get(f"{server.url}/").text
    for html in (docs, page):
        assert "http://" not in html and "https://" not in html  # nothing from a CDN


@pytest.mark.parametrize("mode, extra, png_mode", [
    ("mask", {}, "P"), ("overlay", {}, "RGB"), ("cutout", {}, "RGBA"),
    ("background", {"background": "#2e8b57"}, "RGB"), ("cutout", {"clean": "true"}, "RGBA"),
])
@pytest.mark.parametrize("multipart", [True, False])
def test_every_mode_returns_a_png_at_the_photo_size(server, photo, mode, extra, png_mode, multipart):
    res = post(server, photo, multipart=multipart, mode=mode, **extra)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "image/png"
    im = Image.open(io.BytesIO(res.content))
    assert im.size == (451, 300) and im.mode == png_mode
    assert res.headers["x-petzoo-model"] == petzoo.inference.DEFAULT_MODEL
    assert res.headers["x-petzoo-weights"].endswith(petzoo.get_model_weights(petzoo.inference.DEFAULT_MODEL).DEFAULT.name)
    assert "segment;dur=" in res.headers["server-timing"]


def test_matting_and_the_same_mask_as_segment(server, photo, tmp_path):
    pytest.importorskip("pymatting")
    res = post(server, photo, mode="cutout", matting="true")
    assert res.status_code == 200, res.text
    path = tmp_path / "p.jpg"
    path.write_bytes(photo)
    mask = np.array(Image.open(io.BytesIO(post(server, photo, mode="mask").content)))
    assert np.array_equal(mask, petzoo.segment(path))


def test_exif_orientation_and_a_12mp_phone_photo(server):
    rotated = post(server, jpeg(400, 300, exif_orientation=6), mode="mask")
    assert Image.open(io.BytesIO(rotated.content)).size == (300, 400)
    phone = jpeg(4000, 3000)
    for mode in ("cutout", "mask"):  # (a mask is made from a reduced decode, but at the photo's size)
        res = post(server, phone, mode=mode, timeout=300)
        assert res.status_code == 200, res.text
        assert Image.open(io.BytesIO(res.content)).size == (4000, 3000)
        assert res.headers["x-petzoo-size"] == "4000x3000"


def test_concurrent_requests_all_succeed(server, photo):
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: post(server, photo, mode="mask"), range(6)))
    assert [r.status_code for r in results] == [200] * 6
    assert len({r.content for r in results}) == 1


def raw_request(server, head: bytes, body: bytes = b"", wait: float = 30) -> tuple:
    """Send ``head`` (and ``body``) on a plain socket; (status, JSON body, seconds until the answer)."""
    start = time.time()
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as s:
        s.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < int(
                dict(line.split(b": ", 1) for line in data.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]
                     if b": " in line).get(b"content-length", b"0")):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head_part, _, payload = data.partition(b"\r\n\r\n")
    return int(head_part.split()[1]), json.loads(payload or b"{}"), time.time() - start


def test_a_too_large_body_is_refused_before_it_is_read(server):
    head = (f"POST /v1/segment HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: {100 * 2**20}\r\n\r\n").encode()
    status, body, took = raw_request(server, head)  # no body is ever sent
    assert status == 413 and "over this server's 8 MB (--max-upload-mb)" in body["error"]
    assert took < 10


HOSTILE = {
    "not an image": (dict(body=b"hello, not an image"), 415, "not an image"),
    "truncated": (dict(body=None), 400, "unreadable image"),
    "gigapixel": (dict(body=png_header_only(60000, 60000)), 413, "too many pixels"),  # Pillow's bomb limit too
    "over --max-pixels": (dict(body=png_header_only(12000, 12000)), 413, "too many pixels: 12000x12000 = 144.0 MP"),
    "empty": (dict(body=b""), 400, "empty body"),
    "unknown model": (dict(model="nope"), 404, "unknown model 'nope'"),
    "unknown weights": (dict(weights="V9"), 404, "unknown weights 'V9'"),
    "bad colour": (dict(mode="background", background="rgb(300,0,0)"), 400, "out of range"),
    "bad mode": (dict(mode="x"), 400, "mode: expected one of"),
    "unknown option": (dict(colour="red"), 400, "unknown option 'colour'"),
    "bad flag": (dict(clean="maybe"), 400, "clean: expected true or false"),
}


def hostile(server, photo, name):
    kwargs, status, message = HOSTILE[name]
    kwargs = dict(kwargs)
    body = kwargs.pop("body", photo)
    if body is None:
        body = photo[: len(photo) // 2]
    return post(server, body, multipart=name != "empty", **kwargs), status, message


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_bad_input_is_a_4xx_with_one_json_line(server, photo, name):
    res, status, message = hostile(server, photo, name)
    assert res.status_code == status, res.text
    error = res.json()["error"]
    assert message in error and "\n" not in error


def test_multipart_without_a_file_is_named(server):
    res = httpx.post(f"{server.url}/v1/segment", data={"mode": "mask"}, files={"other": ("x", b"1")})
    assert res.status_code == 400 and "without a 'file' field" in res.json()["error"]


def test_a_thousand_hostile_requests_then_a_normal_one(server, photo):
    names = sorted(HOSTILE)
    post(server, photo, mode="cutout")
    before = server.rss_mb()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: hostile(server, photo, names[i % len(names)]), range(1000)))
    for res, status, _ in results:
        assert res.status_code == status
    head = (f"POST /v1/segment HTTP/1.1\r\nHost: x\r\nContent-Length: {2**30}\r\n\r\n").encode()
    assert raw_request(server, head)[0] == 413
    res = post(server, photo, mode="cutout")
    assert res.status_code == 200
    grown = server.rss_mb() - before
    assert grown < 200, f"RSS grew by {grown:.0f} MB over 1,000 hostile requests"


def test_a_full_queue_answers_503_with_retry_after_and_recovers():
    server = Server("--workers", "1", "--queue", "0", "--max-pixels", "30e6")
    try:
        phone = jpeg(4000, 3000)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: post(server, phone, mode="cutout", timeout=300), range(4)))
        codes = sorted(r.status_code for r in results)
        assert codes[0] == 200 and codes[-1] == 503, codes
        busy = next(r for r in results if r.status_code == 503)
        assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["error"]
        assert post(server, jpeg(200, 150), mode="mask").status_code == 200
    finally:
        server.stop()


def test_bad_serve_arguments_are_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "petzoo", "serve", "--model", "nope"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        f"petzoo serve: error: --model 'nope': unknown; models: {', '.join(petzoo.list_models())}"]


def test_the_page_in_headless_chromium(server, tmp_path):
    """Upload a photo: the result appears at the photo's size and the download is a PNG; an invalid file shows
    the error line on the page."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium (.ci/run installs it)")
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    photo_path = tmp_path / "cat.jpg"
    photo_path.write_bytes(jpeg(640, 426))
    bad_path = tmp_path / "notes.jpg"
    bad_path.write_text("not a photo")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(accept_downloads=True)
            page.goto(server.url + "/")
            page.wait_for_selector("#model option", state="attached")
            page.select_option("#mode", "cutout")
            page.set_input_files("#files", str(photo_path))
            page.wait_for_function(
                "() => { const r = document.querySelector('.card .result'); return r && r.naturalWidth > 0; }",
                timeout=120_000)
            size = page.evaluate("() => { const r = document.querySelector('.card .result'); "
                                 "return [r.naturalWidth, r.naturalHeight]; }")
            assert size == [640, 426]
            with page.expect_download() as info:
                page.click(".card .download")
            saved = tmp_path / "download.png"
            info.value.save_as(saved)
            assert info.value.suggested_filename == "cat.cutout.png"
            assert Image.open(saved).format == "PNG" and Image.open(saved).size == (640, 426)
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
            page.set_input_files("#files", str(bad_path))
            page.wait_for_function("() => document.querySelector('.card .error').textContent.length > 0",
                                   timeout=60_000)
            assert page.text_content(".card .error").startswith("415: not an image")
            page.screenshot(path=str(tmp_path / "page-error.png"), full_page=True)
        finally:
            browser.close()
