"""Run one sandbox: two uvicorn servers (API and storage origins) on pre-bound loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from gcfetch.sandbox.app import SandboxApps, create_app
from gcfetch.sandbox.faults import FaultSettings
from gcfetch.sandbox.finishing import finish_pending_jobs
from gcfetch.sandbox.settings import SandboxSettings
from gcfetch.sandbox.traffic import Traffic

_START_TIMEOUT = 30.0


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only for such
    # sockets; without it a response's second write waits for the client's delayed ACK (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _write_tls_files(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A trustme CA and a server certificate for the loopback names; returns (ca, cert, key)."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    names = sorted({host, "127.0.0.1", "localhost", "::1"})
    cert = ca.issue_cert(*names)
    ca_path, cert_path, key_path = (directory / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(str(ca_path))
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    return ca_path, cert_path, key_path


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its owner."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


class Sandbox:
    """A running sandbox. Use as a context manager, or call `start()` and `stop()`."""

    def __init__(self, settings: SandboxSettings) -> None:
        self._requested = settings
        self.settings = settings
        self.apps: SandboxApps | None = None
        self.ca_path: Path | None = None
        self._servers: list[_Server] = []
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._finisher: threading.Timer | None = None

    @property
    def base_url(self) -> str:
        """The API root, ending in `/api/v1/`."""
        return f"{self.settings.api_origin}/api/v1/"

    @property
    def storage_url(self) -> str:
        return f"{self.settings.storage_origin}/"

    def start(self) -> Sandbox:
        """Bind both ports, build the apps and serve them in a background thread."""
        req = self._requested
        api_sock = _bind(req.host, req.api_port)
        storage_sock = _bind(req.host, req.storage_port)
        self.settings = dataclasses.replace(
            req, api_port=api_sock.getsockname()[1], storage_port=storage_sock.getsockname()[1]
        )
        self.apps = create_app(self.settings)
        tls: dict[str, str] = {}
        if self.settings.tls:
            ca, cert, key = _write_tls_files(self.settings.data_dir / "tls", self.settings.host)
            self.ca_path = ca
            tls = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
        self._servers = [
            _Server(
                uvicorn.Config(
                    app,
                    log_level="warning",
                    access_log=False,
                    lifespan="off",
                    timeout_keep_alive=30,
                    **tls,
                )
            )
            for app in (self.apps.api, self.apps.storage)
        ]
        socks = [api_sock, storage_sock]
        self._thread = threading.Thread(
            target=self._run, args=(socks,), daemon=True, name="gcfetch-sandbox"
        )
        self._thread.start()
        self._wait_started()
        if self.settings.finish_jobs_after is not None:
            self._finisher = threading.Timer(self.settings.finish_jobs_after, self.finish_jobs)
            self._finisher.daemon = True
            self._finisher.start()
        return self

    def finish_jobs(self) -> list[str]:
        """Move every job that is not final to Succeeded, with outputs (see finishing.py)."""
        if self.apps is None:
            raise RuntimeError("the sandbox is not running")
        with self.apps.sessionmaker() as session:
            return finish_pending_jobs(session)

    @property
    def traffic(self) -> Traffic:
        """Every request both origins answered (see `gcfetch.sandbox.traffic`)."""
        if self.apps is None:
            raise RuntimeError("the sandbox is not running")
        return self.apps.traffic

    @property
    def faults_injected(self) -> dict[str, int]:
        """How often each fault kind fired so far."""
        if self.apps is None:
            raise RuntimeError("the sandbox is not running")
        return dict(self.apps.faults.injected)

    def set_faults(self, faults: FaultSettings) -> None:
        """Swap the running sandbox's faults; later requests see them."""
        if self.apps is None:
            raise RuntimeError("the sandbox is not running")
        self.apps.faults.configure(faults)

    def _run(self, socks: list[socket.socket]) -> None:
        async def serve_all() -> None:
            await asyncio.gather(
                *(s.serve(sockets=[k]) for s, k in zip(self._servers, socks, strict=True))
            )

        try:
            asyncio.run(serve_all())
        except BaseException as exc:  # reported by start() or stop()
            self._error = exc
        finally:
            for sock in socks:
                sock.close()

    def _wait_started(self) -> None:
        for _ in range(int(_START_TIMEOUT / 0.01)):
            if all(s.started for s in self._servers):
                return
            if self._error is not None or not self._thread or not self._thread.is_alive():
                break
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"sandbox did not start: {self._error!r}")

    def stop(self) -> None:
        """Ask both servers to exit and wait for them (idempotent)."""
        if self._finisher is not None:
            self._finisher.cancel()
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self.apps is not None:
            self.apps.engine.dispose()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
