"""Finding connector types: the ``gru.connectors`` entry-point group (STYLE.md habit 5).

Only the types named in ``GRU_CONNECTORS_ENABLED`` are loaded (redash's destinations,
Passerelle's connector apps); another package adds a type by declaring, in its own
packaging metadata::

    [options.entry_points]
    gru.connectors =
        crm = my_package.crm:CrmConnector
"""

from importlib.metadata import entry_points

from gru.connectors.base import Connector
from gru.errors import ConfigurationError

GROUP = "gru.connectors"


def enabled_names(setting):
    """``GRU_CONNECTORS_ENABLED`` as a list: a list, or a comma- or space-separated text."""
    if isinstance(setting, str):
        return [name for name in setting.replace(",", " ").split() if name]
    return list(setting or [])


def load_connector_types(enabled):
    """``{name: class}`` of the enabled types; a name without entry point or a class that is
    not a :class:`Connector` is a :class:`ConfigurationError`."""
    names = enabled_names(enabled)
    found = {point.name: point for point in entry_points(group=GROUP)}
    types = {}
    for name in names:
        point = found.get(name)
        if point is None:
            raise ConfigurationError(
                f"GRU_CONNECTORS_ENABLED names {name!r}, but no package registers it in the {GROUP} entry points"
            )
        try:
            cls = point.load()
        except Exception as error:  # noqa: BLE001 - a broken plugin must not hide which one
            raise ConfigurationError(f"connector type {name!r} cannot be loaded: {error.__class__.__name__}") from None
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise ConfigurationError(f"connector type {name!r} is not a gru.connectors.base.Connector")
        types[name] = cls
    return types
