"""Cursor pagination with ``Link`` headers (RFC 8288 section 3, relation "next")."""

from urllib.parse import urlencode

from flask import current_app, request


def page_size(requested):
    maximum = current_app.config["GRU_PAGE_SIZE_MAX"]
    return min(requested or current_app.config["GRU_PAGE_SIZE"], maximum)


def link_header(next_cursor):
    """The ``Link`` header naming the next page, or ``{}`` on the last page."""
    if not next_cursor:
        return {}
    arguments = [(key, value) for key, value in request.args.items(multi=True) if key != "cursor"]
    arguments.append(("cursor", next_cursor))
    return {"Link": f'<{request.base_url}?{urlencode(arguments)}>; rel="next"'}
