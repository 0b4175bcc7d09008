"""Checks of an upload before it is kept: size, real content type, malware.

The content type is found from the bytes themselves (magic numbers), never from the name
or the declared type alone, and must match what the caller declared. The malware scan
speaks clamd's ``INSTREAM`` protocol (clamd(8): ``zINSTREAM\\0``, then chunks each
prefixed by their length as a 4-byte big-endian integer, ended by a zero length) over TCP
or a unix socket, with a timeout on every operation.
"""

import re
import socket
import struct
import unicodedata
from urllib.parse import urlparse

from gru.errors import ConfigurationError, GruError

#: bytes needed to recognise every supported type
SNIFF_BYTES = 32
HEIC_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc", b"hevx"}
CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/tiff", "image/heic")


class TooLarge(GruError):
    code = "document-too-large"
    status = 413
    title = "Document too large"


class UnsupportedContent(GruError):
    code = "unsupported-media-type"
    status = 415
    title = "Unsupported media type"


class MalwareFound(GruError):
    code = "malware-found"
    status = 422
    title = "Malware found"


class ScanUnavailable(GruError):
    code = "scan-unavailable"
    status = 503
    title = "Malware scan unavailable"


def sniff_content_type(head):
    """The content type of a document from its first bytes, or None when not supported."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    # ISO/IEC 14496-12 (ISOBMFF): size(4) 'ftyp' major_brand(4); HEIF (ISO/IEC 23008-12) brands.
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return "image/heic"
    return None


def check_declared_type(declared, head):
    """The sniffed type, when it is the one declared (415 otherwise)."""
    found = sniff_content_type(head)
    declared = (declared or "").split(";")[0].strip().lower()
    if declared == "image/heif":
        declared = "image/heic"
    if found is None:
        raise UnsupportedContent(f"The content is not one of the accepted types: {', '.join(CONTENT_TYPES)}.")
    if declared != found:
        raise UnsupportedContent(f"The content is {found}, not the declared {declared or 'untyped data'}.")
    return found


_UNSAFE = re.compile(r"[^\w .()+-]")


def display_filename(raw):
    """A file name safe to show and to put in Content-Disposition; never used as a path.

    Keeps the last path component, drops control and unusual characters, at most 200.
    """
    if not raw:
        return None
    name = unicodedata.normalize("NFC", str(raw)).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", "".join(ch for ch in name if ch.isprintable())).strip(" .")
    return name[:200] or None


class ClamdScanner:
    """A clamd client for one stream: ``feed`` chunks as they arrive, then ``result``.

    ``address`` is ``tcp://host:port`` or ``unix:///path``. Any network failure or timeout
    raises :class:`ScanUnavailable` (the upload is refused: fail closed).
    """

    CHUNK_LIMIT = 1024 * 1024

    def __init__(self, address, timeout=30):
        self.address, self.timeout = address, timeout
        self._socket = self._connect()
        self._send(b"zINSTREAM\x00")

    def _connect(self):
        parsed = urlparse(self.address)
        try:
            if parsed.scheme == "tcp":
                return socket.create_connection((parsed.hostname, parsed.port or 3310), timeout=self.timeout)
            if parsed.scheme == "unix":
                connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                connection.settimeout(self.timeout)
                connection.connect(parsed.path)
                return connection
        except OSError as error:
            raise ScanUnavailable(f"The malware scanner cannot be reached ({error.__class__.__name__}).") from None
        raise ConfigurationError("GRU_DOCUMENTS_CLAMD must be tcp://HOST:PORT or unix:///PATH")

    def _send(self, data):
        try:
            self._socket.sendall(data)
        except OSError as error:
            self.close()
            raise ScanUnavailable(f"The malware scanner stopped answering ({error.__class__.__name__}).") from None

    def feed(self, chunk):
        for start in range(0, len(chunk), self.CHUNK_LIMIT):
            piece = chunk[start : start + self.CHUNK_LIMIT]
            self._send(struct.pack(">I", len(piece)) + piece)

    def result(self):
        """``None`` when clean, else the signature name; raises when clamd fails."""
        self._send(struct.pack(">I", 0))
        answer = b""
        try:
            while not answer.endswith(b"\x00"):
                data = self._socket.recv(4096)
                if not data:
                    break
                answer += data
        except OSError as error:
            raise ScanUnavailable(f"The malware scanner did not answer ({error.__class__.__name__}).") from None
        finally:
            self.close()
        text = answer.rstrip(b"\x00").decode("utf-8", "replace").strip()
        if text.endswith("OK"):
            return None
        if text.endswith("FOUND"):
            return text.split(":", 1)[-1].rsplit(" ", 1)[0].strip()
        raise ScanUnavailable(f"The malware scanner could not scan the document ({text[-80:]}).")

    def close(self):
        try:
            self._socket.close()
        except OSError:
            pass
