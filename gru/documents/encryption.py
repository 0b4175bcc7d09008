"""Envelope encryption of document content: segmented AES-256-GCM and data-key wrapping.

Each document gets its own random 256-bit data key. Its content is cut into segments of
:data:`SEGMENT_SIZE` plaintext bytes, each encrypted with AES-256-GCM (NIST SP 800-38D)
under a fresh random 96-bit nonce, with associated data binding it to its place:

    AAD = document id (16 bytes) || segment index (8 bytes, big-endian) || is_last (1 byte)

so that any bit flip (tag mismatch), reordering (index mismatch), truncation (the new last
segment was written with ``is_last = 0``) or extension (a segment after the one marked
last) makes decryption fail. This is the STREAM construction of Hoang, Reyhanitabar,
Rogaway and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance"
(CRYPTO 2015), as used by Tink's streaming AEAD and age.

A stored segment is ``nonce (12) || ciphertext || tag (16)``; every segment but the last
holds exactly :data:`SEGMENT_SIZE` plaintext bytes, so readers need no framing.

The data key is wrapped with AES-256-GCM under a versioned key-encryption key, with the
document id and the key version as associated data: a wrapped key moved to another
document, or relabelled with another version, does not unwrap.

Nothing here logs, stores or returns an unwrapped key except to its caller.
"""

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gru.errors import GruError

SEGMENT_SIZE = 64 * 1024
NONCE_SIZE = 12
TAG_SIZE = 16
#: bytes of one stored segment that is not the last
STORED_SEGMENT_SIZE = NONCE_SIZE + SEGMENT_SIZE + TAG_SIZE
DATA_KEY_SIZE = 32
_WRAP_LABEL = b"gru-dk-wrap-v1"


class IntegrityError(GruError):
    """Stored content does not decrypt: altered, reordered, truncated or the wrong key.

    Never returns partial or altered data: the download stops with this error.
    """

    code = "document-integrity"
    status = 500
    title = "Document integrity check failed"


def new_data_key():
    return AESGCM.generate_key(bit_length=256)


def segment_aad(document_id, index, is_last):
    """``document id || index || is_last``: the associated data of one segment."""
    return document_id.bytes + struct.pack(">QB", index, 1 if is_last else 0)


def encrypt_segment(aead, document_id, index, is_last, plaintext):
    nonce = os.urandom(NONCE_SIZE)
    return nonce + aead.encrypt(nonce, plaintext, segment_aad(document_id, index, is_last))


def decrypt_segment(aead, document_id, index, is_last, stored):
    if len(stored) < NONCE_SIZE + TAG_SIZE:
        raise IntegrityError(f"Segment {index} of the document is truncated.")
    try:
        return aead.decrypt(stored[:NONCE_SIZE], stored[NONCE_SIZE:], segment_aad(document_id, index, is_last))
    except InvalidTag:
        raise IntegrityError(
            f"Segment {index} of the document failed its integrity check: the stored content was "
            "altered, reordered or truncated, or the key is wrong. Nothing of it is returned."
        ) from None


class SegmentEncryptor:
    """Turns plaintext segments into stored segments; ``None`` key: stored as is (baseline).

    The caller gives each segment with whether it is the last; the stream has at least
    one segment (an empty document is one empty last segment).
    """

    def __init__(self, document_id, data_key):
        self.document_id = document_id
        self._aead = AESGCM(data_key) if data_key is not None else None
        self.index = 0

    def seal(self, plaintext, is_last):
        index, self.index = self.index, self.index + 1
        if self._aead is None:
            return plaintext
        return encrypt_segment(self._aead, self.document_id, index, is_last, plaintext)


def decrypt_segments(document_id, data_key, stored_segments, expected_count=None):
    """Yield the plaintext of each stored segment, in order, checking the whole chain.

    The last segment is only known once the next read finds nothing, so each segment is
    decrypted one step behind. ``expected_count`` (kept with the metadata) is checked too.
    Raises :class:`IntegrityError` at the first segment that fails; nothing after it is
    yielded, and the failing segment itself never is.
    """
    aead = AESGCM(data_key) if data_key is not None else None
    index = 0
    previous = None
    for stored in stored_segments:
        if previous is not None:
            yield _open(aead, document_id, index, False, previous)
            index += 1
        previous = stored
    if previous is None:
        raise IntegrityError("The stored document has no content.")
    if expected_count is not None and index + 1 != expected_count:
        raise IntegrityError(
            f"The stored document has {index + 1} segments instead of {expected_count}: it was truncated or extended."
        )
    yield _open(aead, document_id, index, True, previous)


def _open(aead, document_id, index, is_last, stored):
    if aead is None:
        return stored
    return decrypt_segment(aead, document_id, index, is_last, stored)


def _wrap_aad(document_id, version):
    return _WRAP_LABEL + document_id.bytes + struct.pack(">I", version)


def wrap_data_key(kek, version, document_id, data_key):
    """``nonce || AES-256-GCM(kek, data_key)`` bound to the document and the KEK version."""
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, _wrap_aad(document_id, version))


def unwrap_data_key(kek, version, document_id, wrapped):
    try:
        return AESGCM(kek).decrypt(wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], _wrap_aad(document_id, version))
    except (InvalidTag, ValueError):
        raise IntegrityError(
            f"The data key of document {document_id} does not unwrap with key-encryption key version {version}."
        ) from None


class Rewrapper:
    """Re-wraps data keys from any version to ``target``; AES objects built once per key."""

    def __init__(self, keys, target):
        self.target = target
        self._aeads = {version: AESGCM(key) for version, key in keys.items()}
        if target not in self._aeads:
            raise IntegrityError(f"Key-encryption key version {target} is not available.")

    def rewrap(self, version, document_id, wrapped):
        source = self._aeads.get(version)
        if source is None:
            raise IntegrityError(f"Key-encryption key version {version} is not available.")
        try:
            data_key = source.decrypt(wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], _wrap_aad(document_id, version))
        except InvalidTag:
            raise IntegrityError(f"The data key of document {document_id} does not unwrap.") from None
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aeads[self.target].encrypt(nonce, data_key, _wrap_aad(document_id, self.target))
