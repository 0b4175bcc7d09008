"""Rotating the key-encryption keys of the vault (envelope encryption).

``gru keys rotate`` makes a new KEK version (in the key file; with keys from the
environment, the operator adds it there first) and re-wraps every data key with it. The
content is not re-encrypted: only the 60-byte wrapped keys change, in batches. A version
can be retired only when no data key is wrapped by it any more, nor any secret of another
package registered with :func:`gru.crypto.register_key_user` (the connectors'
configurations) (NIST SP 800-57 part 1 section 8.2.4: a key leaves service when nothing
needs it).
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from gru.crypto import key_users
from gru.documents import vault
from gru.documents.encryption import Rewrapper
from gru.documents.models import Document
from gru.errors import Conflict, NotFound
from gru.extensions import db

BATCH = 5_000


@dataclass
class Rotation:
    version: int
    is_new_version: bool
    rewrapped: int


def key_usage():
    """{version: number of data keys it wraps}, every known version included."""
    provider = vault().keys
    usage = {version: 0 for version in provider.keys()}
    rows = db.session.execute(
        select(Document.kek_version, func.count()).where(Document.kek_version.is_not(None)).group_by(Document.kek_version)
    )
    for version, count in rows:
        usage[version] = count
    return dict(sorted(usage.items()))


def rotate_keys(create=True):
    """Make a new KEK version (when the provider can) and re-wrap every data key with it."""
    provider = vault().keys
    is_new = False
    if create and provider.is_writable:
        provider.create_version()
        is_new = True
    target = provider.current_version()
    rewrapper = Rewrapper(provider.keys(), target)
    table = Document.__table__
    statement = (
        update(table)
        .where(table.c.pk == bindparam("row_pk"))
        .values(wrapped_key=bindparam("new_key"), kek_version=target)
    )
    last_pk, total = 0, 0
    while True:
        rows = db.session.execute(
            select(table.c.pk, table.c.id, table.c.kek_version, table.c.wrapped_key)
            .where(table.c.pk > last_pk, table.c.kek_version.is_not(None), table.c.kek_version != target)
            .order_by(table.c.pk)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        changes = [
            {"row_pk": row.pk, "new_key": rewrapper.rewrap(row.kek_version, row.id, row.wrapped_key)} for row in rows
        ]
        db.session.execute(statement, changes)
        total += len(changes)
        last_pk = rows[-1].pk
    # The UPDATEs bypassed the ORM: loaded documents must read their new keys.
    db.session.expire_all()
    return Rotation(target, is_new, total)


def retire_key(version):
    """Remove KEK ``version``: refused (409) while a data key uses it or when it is the newest."""
    provider = vault().keys
    if version not in provider.keys():
        raise NotFound(f"There is no key-encryption key version {version}.")
    if version == provider.current_version():
        raise Conflict(f"Version {version} is the newest key-encryption key: rotate before retiring it.")
    used = key_usage().get(version, 0)
    if used:
        raise Conflict(f"Version {version} still wraps {used} data keys: run `gru keys rotate` first.")
    for name, usage in key_users(current_app).items():
        used = usage().get(version, 0)
        if used:
            raise Conflict(f"Version {version} still seals {used} {name}: re-seal them under the newest key first "
                           f"(`gru {name} rekey`).")
    provider.retire(version)
    return version
