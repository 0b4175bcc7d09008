"""The storage backends behind one interface: memory, database, filesystem, S3.

S3 runs against moto's server mode (``ThreadedMotoServer`` on 127.0.0.1): the only
S3-compatible server installable here without internet (no MinIO package in Debian or
PyPI). It speaks the S3 REST protocol over real HTTP, so boto3's multipart upload,
streaming GET and error mapping are exercised end to end; what it cannot show is the
behaviour of a real provider (eventual consistency, throttling), left to deployment tests.
"""

import os
import uuid

import pytest

from gru.documents.storage import (
    S3_PART_SIZE,
    DatabaseStorage,
    FilesystemStorage,
    MemoryStorage,
    S3Storage,
    build_storage,
)
from gru.errors import ConfigurationError, NotFound
from gru.extensions import db

SEGMENT = 1000


@pytest.fixture(scope="session")
def s3_server():
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is in the test extra: scripts/bootstrap test")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(s3_server, monkeypatch):
    boto3 = pytest.importorskip("boto3")
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    bucket = f"gru-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    return S3Storage(bucket, "documents/", endpoint_url=s3_server, region="us-east-1")


@pytest.fixture(params=["memory", "database", "filesystem", "s3"])
def storage(request, tmp_path, db_session):
    """Each backend (and the database one on each database of the run)."""
    if request.param == "memory":
        return MemoryStorage()
    if request.param == "database":
        return DatabaseStorage(lambda: db.session)
    if request.param == "filesystem":
        return FilesystemStorage(tmp_path / "documents")
    return request.getfixturevalue("s3_storage")


def segments(count, last=b"end"):
    return [os.urandom(SEGMENT) for _ in range(count - 1)] + [last]


def test_write_read_delete(storage):
    key = uuid.uuid4().hex
    written = segments(40)
    assert storage.write(key, iter(written)) == 40
    assert list(storage.read(key, SEGMENT)) == written
    storage.delete(key)
    with pytest.raises(NotFound):
        list(storage.read(key, SEGMENT))
    storage.delete(key)  # absent: not an error


def test_keys_are_never_names_or_paths(storage):
    for key in ("../../etc/passwd", "carte.pdf", uuid.uuid4().hex.upper(), ""):
        with pytest.raises(ValueError):
            storage.write(key, iter([b"x"]))


def test_a_failed_write_leaves_nothing(storage):
    key = uuid.uuid4().hex

    def failing():
        yield os.urandom(SEGMENT)
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        storage.write(key, failing())
    storage.delete(key)  # what the upload service does after any failure
    with pytest.raises(NotFound):
        list(storage.read(key, SEGMENT))


def test_filesystem_files_are_private_and_renamed_into_place(tmp_path):
    storage = FilesystemStorage(tmp_path / "documents")
    key = uuid.uuid4().hex
    storage.write(key, iter(segments(3)))
    path = tmp_path / "documents" / key[:2] / key
    assert path.stat().st_mode & 0o077 == 0
    assert [p.name for p in path.parent.iterdir()] == [key]


def test_s3_large_objects_go_in_parts(s3_storage):
    key = uuid.uuid4().hex
    segment = 64 * 1024 + 28
    written = [os.urandom(segment) for _ in range(S3_PART_SIZE // segment * 2 + 3)]
    assert s3_storage.write(key, iter(written)) == len(written)
    assert list(s3_storage.read(key, segment)) == written
    uploads = s3_storage.client.list_multipart_uploads(Bucket=s3_storage.bucket).get("Uploads", [])
    assert uploads == []


def test_s3_failed_multipart_upload_is_aborted(s3_storage):
    key = uuid.uuid4().hex

    def failing():
        for _ in range(S3_PART_SIZE // SEGMENT + 10):
            yield os.urandom(SEGMENT)
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        s3_storage.write(key, failing())
    assert s3_storage.client.list_multipart_uploads(Bucket=s3_storage.bucket).get("Uploads", []) == []


def test_upload_and_download_through_the_api_on_s3(client, headers, upload, s3_storage, vault, monkeypatch):
    from tests.documents.conftest import MARKER, pdf

    monkeypatch.setattr(vault, "storage", s3_storage)
    content = pdf(200_000)
    document_id = upload(content).get_json()["id"]
    objects = s3_storage.client.list_objects_v2(Bucket=s3_storage.bucket)["Contents"]
    (stored,) = [s3_storage.client.get_object(Bucket=s3_storage.bucket, Key=item["Key"])["Body"].read()
                 for item in objects]
    assert MARKER not in stored
    assert client.get(f"/api/v1/documents/{document_id}/content", headers=headers).data == content


def test_backend_is_chosen_by_configuration(tmp_path):
    config = {"GRU_DOCUMENTS_STORAGE": "filesystem", "GRU_DOCUMENTS_FOLDER": str(tmp_path)}
    assert isinstance(build_storage(config, None), FilesystemStorage)
    assert isinstance(build_storage({"GRU_DOCUMENTS_STORAGE": "memory"}, None), MemoryStorage)
    assert isinstance(build_storage({"GRU_DOCUMENTS_STORAGE": "database"}, None), DatabaseStorage)
    with pytest.raises(ConfigurationError):
        build_storage({"GRU_DOCUMENTS_STORAGE": "ftp"}, None)
    with pytest.raises(ConfigurationError, match="BUCKET"):
        build_storage({"GRU_DOCUMENTS_STORAGE": "s3", "GRU_DOCUMENTS_S3_BUCKET": None, "GRU_DOCUMENTS_S3_PREFIX": "",
                       "GRU_DOCUMENTS_S3_ENDPOINT": None, "GRU_DOCUMENTS_S3_REGION": None}, None)
