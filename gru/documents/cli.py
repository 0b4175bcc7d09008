"""``gru documents`` and ``gru keys``: the vault from the command line.

The same services as the API; every read or change of a party's documents is journaled
under the agent given by ``--agent``. Errors end with one line and exit status 1.
"""

import mimetypes
import sys
from datetime import date

import click
from flask.cli import with_appcontext

from gru.cli_support import one_line_errors

AGENT = click.option("--agent", "agent_login", required=True, help="Login of the agent acting (journaled).")
PURPOSE = click.option("--purpose", default="documents", show_default=True, help="Purpose of the access (journaled).")
CASE_REF = click.option("--case-ref", help="Case reference of the procedure (journaled, and kept with a reuse).")


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("a date as YYYY-MM-DD") from None


def _guess_type(path):
    """The declared type from the file name (the service checks it against the bytes)."""
    if path.lower().endswith((".heic", ".heif")):
        return "image/heic"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


@click.group("documents")
def documents_group():
    """Supporting documents: upload, list, download, verify, reuses, expiry and purge."""


@documents_group.command("upload")
@click.argument("party_id", type=click.UUID)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--type", "type_", required=True, help="Document type code (see `gru documents types`).")
@click.option("--content-type", help="Declared content type; default: guessed from the file name.")
@click.option("--issued-on", callback=_date, help="Issue date, YYYY-MM-DD.")
@click.option("--expires-on", callback=_date, help="Expiry date, YYYY-MM-DD.")
@click.option("--authority", "issuing_authority", help="Issuing authority.")
@click.option("--note", help="Free-text note.")
@AGENT
@PURPOSE
@with_appcontext
@one_line_errors
def upload_command(party_id, path, type_, content_type, issued_on, expires_on, issuing_authority, note,
                   agent_login, purpose):
    """Upload the file PATH as a document of party PARTY_ID; prints the document id."""
    import os

    from gru.documents import services
    from gru.documents.services import UploadRequest
    from gru.extensions import db

    actor = services.agent_actor(agent_login)
    declared = content_type or _guess_type(path)
    upload = UploadRequest(
        type=type_, content_type=declared, issued_on=issued_on, expires_on=expires_on,
        issuing_authority=issuing_authority, note=note, filename=os.path.basename(path),
        content_length=os.path.getsize(path),
    )
    with open(path, "rb") as stream:
        try:
            document = services.upload_document(party_id, stream, upload, actor)
        except services.MalwareRefused as refusal:
            services.journal_agent_access(actor, "documents:document:refuse", refusal.party.id,
                                          [f"malware:{refusal.signature}"], purpose)
            db.session.commit()
            raise
    try:
        services.journal_agent_access(actor, "documents:document:upload", document.party.id,
                                      [f"document:{document.id}"], purpose)
        db.session.commit()
    except Exception:
        db.session.rollback()
        services.discard_stored_content(document)
        raise
    click.echo(f"{document.id}\t{document.type}\t{document.content_type}\t{document.size_bytes} bytes")


@documents_group.command("types")
@with_appcontext
@one_line_errors
def types_command():
    """The document types: code, retention in days, attributes certified."""
    from gru.documents.services import document_types

    for item in document_types().values():
        click.echo(f"{item.code}\t{item.retention_days} days\t{','.join(item.certifies) or '-'}\t{item.label_fr}")


@documents_group.command("list")
@click.argument("party_id", type=click.UUID)
@click.option("--type", "type_", help="Only documents of this type.")
@AGENT
@PURPOSE
@with_appcontext
@one_line_errors
def list_command(party_id, type_, agent_login, purpose):
    """List the documents of party PARTY_ID (journaled)."""
    from gru.documents import services
    from gru.extensions import db

    actor = services.agent_actor(agent_login)
    party, documents = services.list_documents(party_id, actor, type_)
    services.journal_agent_access(actor, "documents:document:list", party.id,
                                  [f"document:{document.id}" for document in documents], purpose)
    db.session.commit()
    for document in documents:
        flags = " proof-expired" if document.is_expired else ""
        click.echo(f"{document.id}\t{document.type}\t{document.status}{flags}\t{document.expires_on or '-'}"
                   f"\t{document.size_bytes}\t{document.filename or '-'}")


@documents_group.command("download")
@click.argument("document_id", type=click.UUID)
@click.argument("output", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
@AGENT
@PURPOSE
@CASE_REF
@with_appcontext
@one_line_errors
def download_command(document_id, output, agent_login, purpose, case_ref):
    """Write the content of DOCUMENT_ID to OUTPUT ("-": standard output); journaled, recorded as a reuse."""
    from gru.documents import services
    from gru.extensions import db

    actor = services.agent_actor(agent_login)
    document, data_key = services.open_download(document_id, actor, purpose, case_ref)
    services.journal_agent_access(actor, "documents:document:download", document.party.id,
                                  [f"document:{document.id}"], purpose, case_ref)
    db.session.commit()
    target = sys.stdout.buffer if output == "-" else open(output, "wb")
    try:
        for segment in services.content_of(document, data_key):
            target.write(segment)
    finally:
        if target is not sys.stdout.buffer:
            target.close()
    if output != "-":
        click.echo(f"{document.id}: {document.size_bytes} bytes written to {output}", err=True)


@documents_group.command("verify")
@click.argument("document_id", type=click.UUID)
@click.option("--status", required=True, type=click.Choice(["verified", "rejected"]))
@click.option("--method", type=click.Choice(["original_seen", "scan_checked", "authoritative_source"]),
              help="How it was checked (required to verify).")
@click.option("--reason", help="Why (required to reject).")
@AGENT
@PURPOSE
@with_appcontext
@one_line_errors
def verify_command(document_id, status, method, reason, agent_login, purpose):
    """Mark DOCUMENT_ID verified or rejected; a verification certifies the values it proves."""
    from gru.documents import services
    from gru.documents.verification import verify_document
    from gru.extensions import db

    actor = services.agent_actor(agent_login)
    document, outcomes = verify_document(document_id, status, method, reason, actor)
    changed = [key for key, outcome in outcomes.items() if outcome.status == "updated"]
    services.journal_agent_access(actor, "documents:document:verify", document.party.id,
                                  [f"document:{document.id}", *changed], purpose)
    db.session.commit()
    click.echo(f"{document.id}: {document.status}" + (f"; certified {', '.join(changed)}" if changed else ""))


@documents_group.command("reuses")
@click.argument("party_id", type=click.UUID)
@AGENT
@PURPOSE
@with_appcontext
@one_line_errors
def reuses_command(party_id, agent_login, purpose):
    """Who reused the documents of PARTY_ID, when, for which procedure and purpose."""
    from gru.documents import services
    from gru.extensions import db

    actor = services.agent_actor(agent_login)
    party, reuses = services.reuses_of_party(party_id)
    services.journal_agent_access(actor, "documents:reuse:list", party.id, [], purpose)
    db.session.commit()
    for reuse in reuses:
        click.echo(f"{reuse.reused_at.isoformat()}\t{reuse.document.id}\t{reuse.document.type}\t"
                   f"{reuse.actor_type}:{reuse.actor_id}\t{reuse.purpose}\t{reuse.case_ref or '-'}")


@documents_group.command("expire")
@with_appcontext
@one_line_errors
def expire_command():
    """Flag the documents whose expiry date has passed ("proof expired", event document.expired)."""
    from gru.documents.retention import flag_expired_documents
    from gru.extensions import db

    documents = flag_expired_documents()
    db.session.commit()
    click.echo(f"expired: {len(documents)} documents flagged")


@documents_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Only say which documents would be purged.")
@with_appcontext
@one_line_errors
def purge_command(dry_run):
    """Purge the documents past their retention period: content and wrapped key."""
    from gru.documents.retention import purge_documents
    from gru.extensions import db

    documents = purge_documents(dry_run=dry_run)
    if not dry_run:
        db.session.commit()
    verb = "would purge" if dry_run else "purged"
    for document in documents:
        click.echo(f"{verb}\t{document.id}\t{document.type}\tretention ended {document.purge_after.isoformat()}")
    click.echo(f"{verb}: {len(documents)} documents")


@click.group("keys")
def keys_group():
    """Key-encryption keys of the document vault: list, rotate, retire."""


@keys_group.command("list")
@with_appcontext
@one_line_errors
def keys_list_command():
    """Each key-encryption key version and how many data keys it wraps."""
    from gru.documents.keys import key_usage

    for version, count in key_usage().items():
        click.echo(f"version {version}\t{count} data keys")


@keys_group.command("rotate")
@with_appcontext
@one_line_errors
def rotate_command():
    """Create a new key-encryption key version and re-wrap every data key with it."""
    import time

    from gru.documents.keys import rotate_keys
    from gru.extensions import db

    started = time.perf_counter()
    rotation = rotate_keys()
    db.session.commit()
    seconds = time.perf_counter() - started
    made = "created" if rotation.is_new_version else "using"
    click.echo(f"keys: {made} version {rotation.version}; re-wrapped {rotation.rewrapped} data keys in {seconds:.2f} s")


@keys_group.command("retire")
@click.argument("version", type=int)
@with_appcontext
@one_line_errors
def retire_command(version):
    """Remove key-encryption key VERSION (refused while a data key still uses it)."""
    from gru.documents.keys import retire_key

    retire_key(version)
    click.echo(f"keys: version {version} retired")
