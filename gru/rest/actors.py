"""The author of a change made through the API, as the identity services know it."""

from flask import g

from gru.identity.services.context import Actor


def current_actor():
    caller = g.caller
    return Actor(type=caller.type, id=caller.id)
