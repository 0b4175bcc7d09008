"""Segmented AES-256-GCM: what is stored decrypts back, and any change to it is caught."""

import uuid

import pytest

from gru.documents.encryption import (
    SEGMENT_SIZE,
    IntegrityError,
    Rewrapper,
    SegmentEncryptor,
    decrypt_segments,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)


def seal_all(document_id, key, plaintext):
    encryptor = SegmentEncryptor(document_id, key)
    pieces = [plaintext[i : i + SEGMENT_SIZE] for i in range(0, len(plaintext), SEGMENT_SIZE)] or [b""]
    return [encryptor.seal(piece, is_last=index == len(pieces) - 1) for index, piece in enumerate(pieces)]


def open_all(document_id, key, stored, count=None):
    return b"".join(decrypt_segments(document_id, key, stored, count))


@pytest.fixture
def sealed():
    document_id, key = uuid.uuid4(), new_data_key()
    plaintext = bytes(range(256)) * (SEGMENT_SIZE * 3 // 256) + b"tail"
    return document_id, key, plaintext, seal_all(document_id, key, plaintext)


def test_round_trip_over_several_segments(sealed):
    document_id, key, plaintext, stored = sealed
    assert len(stored) == 4
    assert open_all(document_id, key, stored, 4) == plaintext
    assert all(plaintext[:64] not in segment for segment in stored)


@pytest.mark.parametrize("segment", [0, 1, 3])
@pytest.mark.parametrize("offset", [0, 11, 12, 500, -1])
def test_any_bit_flip_fails(sealed, segment, offset):
    """Nonce, ciphertext or tag: one flipped bit anywhere fails the whole read."""
    document_id, key, _, stored = sealed
    damaged = bytearray(stored[segment])
    damaged[offset % len(damaged)] ^= 0x01
    stored[segment] = bytes(damaged)
    with pytest.raises(IntegrityError, match=f"Segment {segment}"):
        open_all(document_id, key, stored)


def test_reordered_segments_fail(sealed):
    document_id, key, _, stored = sealed
    stored[0], stored[1] = stored[1], stored[0]
    with pytest.raises(IntegrityError):
        open_all(document_id, key, stored)


def test_truncation_at_a_segment_boundary_fails(sealed):
    """The new last segment was sealed with is_last = 0."""
    document_id, key, _, stored = sealed
    with pytest.raises(IntegrityError, match="Segment 2"):
        open_all(document_id, key, stored[:3])


def test_truncation_inside_a_segment_fails(sealed):
    document_id, key, _, stored = sealed
    stored[-1] = stored[-1][:-3]
    with pytest.raises(IntegrityError):
        open_all(document_id, key, stored)


def test_extension_after_the_last_segment_fails(sealed):
    document_id, key, _, stored = sealed
    with pytest.raises(IntegrityError):
        open_all(document_id, key, stored + [stored[-1]])


def test_count_kept_with_the_metadata_is_checked(sealed):
    document_id, key, _, stored = sealed
    with pytest.raises(IntegrityError, match="4 segments instead of 5"):
        open_all(document_id, key, stored, 5)


def test_wrong_document_id_fails(sealed):
    """The AAD binds each segment to its document: swapping two documents' content fails."""
    _, key, _, stored = sealed
    with pytest.raises(IntegrityError):
        open_all(uuid.uuid4(), key, stored)


def test_wrong_key_fails(sealed):
    document_id, _, _, stored = sealed
    with pytest.raises(IntegrityError):
        open_all(document_id, new_data_key(), stored)


def test_nothing_is_yielded_from_a_failing_segment(sealed):
    document_id, key, plaintext, stored = sealed
    damaged = bytearray(stored[1])
    damaged[40] ^= 0x80
    stored[1] = bytes(damaged)
    received = []
    with pytest.raises(IntegrityError):
        for piece in decrypt_segments(document_id, key, stored):
            received.append(piece)
    assert b"".join(received) == plaintext[:SEGMENT_SIZE]


def test_exact_multiple_of_the_segment_size():
    document_id, key = uuid.uuid4(), new_data_key()
    plaintext = b"a" * (SEGMENT_SIZE * 2)
    stored = seal_all(document_id, key, plaintext)
    assert open_all(document_id, key, stored, 2) == plaintext


def test_nonces_are_fresh():
    document_id, key = uuid.uuid4(), new_data_key()
    stored = seal_all(document_id, key, b"b" * (SEGMENT_SIZE * 4))
    assert len({segment[:12] for segment in stored}) == 4


def test_wrapped_key_is_bound_to_its_document_and_version():
    kek, document_id, data_key = new_data_key(), uuid.uuid4(), new_data_key()
    wrapped = wrap_data_key(kek, 1, document_id, data_key)
    assert data_key not in wrapped
    assert unwrap_data_key(kek, 1, document_id, wrapped) == data_key
    with pytest.raises(IntegrityError):
        unwrap_data_key(kek, 1, uuid.uuid4(), wrapped)
    with pytest.raises(IntegrityError):
        unwrap_data_key(kek, 2, document_id, wrapped)


def test_rewrap_changes_the_key_version_not_the_data_key():
    old, new, document_id, data_key = new_data_key(), new_data_key(), uuid.uuid4(), new_data_key()
    wrapped = wrap_data_key(old, 1, document_id, data_key)
    rewrapped = Rewrapper({1: old, 2: new}, 2).rewrap(1, document_id, wrapped)
    assert unwrap_data_key(new, 2, document_id, rewrapped) == data_key
