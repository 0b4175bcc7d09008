"""The consent package: the purposes register (GDPR art. 30) and the consents of parties.

``init_app`` registers what other packages learn from it without importing it: its
per-party table, which merges move to the survivor and unmerges move back, a consent
recorded since the merge by an application that knew only the merged party going back
to that party (:func:`gru.identity.search.merge.register_party_table`, issue 6).
"""


def init_app(app):
    from gru.identity.search.merge import register_party_table

    register_party_table(app, "consents", "recorded_at", author_columns=("author_type", "author_id"))
