"""Where stored (encrypted) document segments live: one small interface, four backends.

``GRU_DOCUMENTS_STORAGE`` chooses: ``database`` (embedded default), ``filesystem``,
``s3`` or ``memory`` (the in-memory twin for tests), as invenio-files-rest's storage
interface (STYLE.md habit 7). A backend only ever sees ciphertext segments and an opaque
storage key made by the hub (32 hex digits); never a file name given by a caller, so a
name like ``../../etc/passwd`` cannot become a path.

Every backend streams: :meth:`Storage.write` takes an iterator of segments and
:meth:`Storage.read` yields them, so a large document is never held whole in memory.
"""

import os
import re
import tempfile

from sqlalchemy import delete, insert, select

from gru.errors import ConfigurationError, NotFound

STORAGE_KEY = re.compile(r"^[0-9a-f]{32}$")
#: segments written to the database per INSERT (executemany)
DATABASE_BATCH = 16
#: bytes per S3 multipart part (S3 asks at least 5 MiB for every part but the last)
S3_PART_SIZE = 8 * 1024 * 1024


def check_key(key):
    if not isinstance(key, str) or not STORAGE_KEY.match(key):
        raise ValueError("storage keys are 32 hexadecimal digits made by the hub")
    return key


class Storage:
    """The interface. ``write`` stores segments in order and returns how many there were."""

    name = "abstract"

    def write(self, key, segments):
        raise NotImplementedError

    def read(self, key, segment_size):
        """Yield the stored segments in order; ``segment_size`` is the size of all but the last."""
        raise NotImplementedError

    def delete(self, key):
        """Remove the content; removing what is absent is not an error."""
        raise NotImplementedError


class MemoryStorage(Storage):
    """The in-memory twin (tests): segments in a dict, lost with the process."""

    name = "memory"

    def __init__(self):
        self.objects = {}

    def write(self, key, segments):
        stored = self.objects[check_key(key)] = []
        for segment in segments:
            stored.append(bytes(segment))
        return len(stored)

    def read(self, key, segment_size):
        if check_key(key) not in self.objects:
            raise NotFound("The content of this document is not in storage.")
        yield from list(self.objects[key])

    def delete(self, key):
        self.objects.pop(check_key(key), None)


class DatabaseStorage(Storage):
    """Segments as rows of ``document_chunks``, in the request's transaction.

    Written with Core ``INSERT`` in batches (no ORM objects kept in the session) and read
    back in batches by index, so a 200 MB document streams in both directions. A failed
    upload is rolled back with the rest of its transaction.
    """

    name = "database"

    def __init__(self, session_factory):
        self._session = session_factory

    @property
    def _table(self):
        from gru.documents.models import DocumentChunk

        return DocumentChunk.__table__

    def write(self, key, segments):
        check_key(key)
        table, session, batch, count = self._table, self._session(), [], 0
        for segment in segments:
            batch.append({"storage_key": key, "index": count, "data": bytes(segment)})
            count += 1
            if len(batch) >= DATABASE_BATCH:
                session.execute(insert(table), batch)
                batch = []
        if batch:
            session.execute(insert(table), batch)
        return count

    def read(self, key, segment_size):
        check_key(key)
        table, session, start, found = self._table, self._session(), 0, False
        while True:
            rows = session.execute(
                select(table.c.index, table.c.data)
                .where(table.c.storage_key == key, table.c.index >= start)
                .order_by(table.c.index)
                .limit(DATABASE_BATCH)
            ).all()
            if not rows:
                break
            for row in rows:
                found = True
                yield row.data
            start = rows[-1].index + 1
        if not found:
            raise NotFound("The content of this document is not in storage.")

    def delete(self, key):
        self._session().execute(delete(self._table).where(self._table.c.storage_key == check_key(key)))


class FilesystemStorage(Storage):
    """One file per document under ``folder/ab/<key>``, written to a temporary file first
    and renamed into place (atomic: a reader never sees half a document), mode 0600."""

    name = "filesystem"

    def __init__(self, folder):
        self.folder = os.path.abspath(folder)

    def path(self, key):
        check_key(key)
        return os.path.join(self.folder, key[:2], key)

    def write(self, key, segments):
        path = self.path(key)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".upload-")
        count = 0
        try:
            with os.fdopen(descriptor, "wb") as handle:
                for segment in segments:
                    handle.write(segment)
                    count += 1
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
            _fsync_directory(os.path.dirname(path))
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        return count

    def read(self, key, segment_size):
        try:
            handle = open(self.path(key), "rb")
        except FileNotFoundError:
            raise NotFound("The content of this document is not in storage.") from None
        with handle:
            while True:
                segment = handle.read(segment_size)
                if not segment:
                    return
                yield segment

    def delete(self, key):
        try:
            os.unlink(self.path(key))
        except FileNotFoundError:
            pass


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX: the new name lives in the directory)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class S3Storage(Storage):
    """One object per document in an S3-compatible bucket (boto3), uploaded in parts of
    :data:`S3_PART_SIZE` (multipart upload; aborted if anything fails) and read back as a
    stream."""

    name = "s3"

    def __init__(self, bucket, prefix="", endpoint_url=None, region=None, client=None):
        if not bucket:
            raise ConfigurationError("GRU_DOCUMENTS_STORAGE=s3 needs GRU_DOCUMENTS_S3_BUCKET")
        if client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError:
                raise ConfigurationError("GRU_DOCUMENTS_STORAGE=s3 needs boto3: install gru[s3]") from None
            client = boto3.client(
                "s3", endpoint_url=endpoint_url, region_name=region,
                config=Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}),
            )
        self.client, self.bucket, self.prefix = client, bucket, prefix or ""

    def object_key(self, key):
        return self.prefix + check_key(key)

    def write(self, key, segments):
        name, count, buffer, parts, upload_id = self.object_key(key), 0, bytearray(), [], None
        try:
            for segment in segments:
                buffer += segment
                count += 1
                if len(buffer) >= S3_PART_SIZE:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=name)["UploadId"]
                    parts.append(self._part(name, upload_id, len(parts) + 1, bytes(buffer)))
                    buffer = bytearray()
            if upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=name, Body=bytes(buffer))
                return count
            if buffer:
                parts.append(self._part(name, upload_id, len(parts) + 1, bytes(buffer)))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            if upload_id is not None:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
            raise
        return count

    def _part(self, name, upload_id, number, body):
        answer = self.client.upload_part(Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=body)
        return {"ETag": answer["ETag"], "PartNumber": number}

    def read(self, key, segment_size):
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise NotFound("The content of this document is not in storage.") from None
        try:
            while True:
                segment = body.read(segment_size)
                if not segment:
                    return
                # A stream may answer short reads: fill the segment up.
                while len(segment) < segment_size:
                    more = body.read(segment_size - len(segment))
                    if not more:
                        break
                    segment += more
                yield segment
        finally:
            body.close()

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))


def build_storage(config, session_factory):
    """The backend chosen by ``GRU_DOCUMENTS_STORAGE``."""
    choice = config["GRU_DOCUMENTS_STORAGE"]
    if choice == "database":
        return DatabaseStorage(session_factory)
    if choice == "filesystem":
        return FilesystemStorage(config["GRU_DOCUMENTS_FOLDER"])
    if choice == "s3":
        return S3Storage(
            config["GRU_DOCUMENTS_S3_BUCKET"], config["GRU_DOCUMENTS_S3_PREFIX"],
            config["GRU_DOCUMENTS_S3_ENDPOINT"], config["GRU_DOCUMENTS_S3_REGION"],
        )
    if choice == "memory":
        return MemoryStorage()
    raise ConfigurationError(f"GRU_DOCUMENTS_STORAGE must be database, filesystem, s3 or memory, not {choice!r}")
