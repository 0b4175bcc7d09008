"""A throw-away clamd for tests, with a signature database holding only a test signature.

Runs Debian's ``clamd`` (scripts/install-clamav.sh) in the foreground on 127.0.0.1 and on a
unix socket, configured entirely inside a work directory: no system service, no freshclam
(there is no internet here). The only signature, ``Gru-Eicar-Test``, is a body signature
(``.ndb``) of the EICAR anti-virus test string, so that any file containing it, a PDF
included, is reported infected. Depends only on the standard library.
"""

from __future__ import annotations

import pathlib
import shutil
import socket
import subprocess
import time

__all__ = ["Clamd", "clamd_available", "EICAR", "SIGNATURE"]

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Gru-Eicar-Test"
INSTALL_HINT = "clamd is not installed: run scripts/install-clamav.sh"


def clamd_binary() -> str | None:
    return shutil.which("clamd") or ("/usr/sbin/clamd" if pathlib.Path("/usr/sbin/clamd").exists() else None)


def clamd_available() -> tuple[bool, str]:
    return (True, "") if clamd_binary() else (False, INSTALL_HINT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Clamd:
    """``with Clamd(workdir) as clamd:`` ``clamd.tcp_address``, ``clamd.unix_address``."""

    def __init__(self, workdir: pathlib.Path):
        self.workdir = pathlib.Path(workdir)
        self.port = _free_port()
        self.socket_path = self.workdir / "clamd.sock"
        self.tcp_address = f"tcp://127.0.0.1:{self.port}"
        self.unix_address = f"unix://{self.socket_path}"
        self._process = None

    def start(self) -> "Clamd":
        database = self.workdir / "db"
        database.mkdir(parents=True, exist_ok=True)
        (database / "gru-test.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
        config = self.workdir / "clamd.conf"
        config.write_text(
            "Foreground yes\n"
            f"DatabaseDirectory {database}\n"
            f"LocalSocket {self.socket_path}\n"
            f"TCPSocket {self.port}\n"
            "TCPAddr 127.0.0.1\n"
            f"LogFile {self.workdir / 'clamd.log'}\n"
            "StreamMaxLength 64M\n"
        )
        self._process = subprocess.Popen(
            [clamd_binary(), "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"clamd stopped: {self.log()[-500:]}")
            if self._ping():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"clamd did not answer within 60 s: {self.log()[-500:]}")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"zPING\x00")
                return connection.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def log(self) -> str:
        path = self.workdir / "clamd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)

    def __enter__(self) -> "Clamd":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
