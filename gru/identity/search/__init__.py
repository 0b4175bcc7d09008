"""One person, one record (issue 6): the search index, search, matching, duplicate
suspicions, merge and unmerge. Names are normalised by :mod:`gru.identity.names`;
pairs are compared by :mod:`gru.identity.matching`."""
