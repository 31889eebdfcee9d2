"""A loopback stand-in for the Hugging Face Hub's file-resolve endpoint (tests only).

Serves HEAD/GET /{org}/{name}/resolve/{revision}/{filename} with the headers
huggingface_hub reads (X-Repo-Commit, ETag, Content-Length), byte Ranges, and
404s carrying X-Error-Code. ``truncate`` names files whose body is cut in half.
"""
from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List, Set, Tuple

ROUTE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


class FakeHub:
    def __init__(self) -> None:
        self.repos: Dict[str, Tuple[str, Dict[str, bytes]]] = {}
        self.truncate: Set[str] = set()
        self.log: List[Tuple[str, str]] = []
        self._server = None

    def add_folder(self, repo: str, folder: Path) -> str:
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        commit = hashlib.sha1(b"".join(files.values())).hexdigest()
        self.repos[repo] = (commit, files)
        return commit

    def start(self) -> str:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _resolve(self):
                match = ROUTE.match(self.path.split("?")[0])
                if not match:
                    return self._error(404, "EntryNotFound")
                repo, revision, filename = match.groups()
                hub.log.append((self.command, filename))
                if repo not in hub.repos:  # the real Hub answers 401 to anonymous clients
                    return self._error(401, "RepositoryNotFound")
                commit, files = hub.repos[repo]
                if revision not in ("main", commit):
                    return self._error(404, "RevisionNotFound")
                if filename not in files:
                    return self._error(404, "EntryNotFound")
                return commit, filename, files[filename]

            def _error(self, status, code):
                body = f'{{"error": "{code}"}}'.encode()
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command == "GET":
                    self.wfile.write(body)
                return None

            def _headers(self, status, commit, data, start=0):
                self.send_response(status)
                self.send_header("X-Repo-Commit", commit)
                self.send_header("ETag", '"' + hashlib.sha256(data).hexdigest() + '"')
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()

            def do_HEAD(self):
                found = self._resolve()
                if found:
                    commit, _, data = found
                    self._headers(200, commit, data)

            def do_GET(self):
                found = self._resolve()
                if not found:
                    return
                commit, filename, data = found
                start = 0
                rng = re.match(r"bytes=(\d+)-", self.headers.get("Range", ""))
                if rng:
                    start = int(rng.group(1))
                self._headers(206 if start else 200, commit, data, start)
                body = data[start:]
                if filename in hub.truncate:
                    body = body[: len(body) // 2]
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
