"""Instances: configuration validated, stored encrypted, secrets masked, keys rotated."""

import pytest

from gru.connectors import services
from gru.crypto import MemoryKeyProvider
from gru.errors import NotFound, ValidationFailed
from gru.extensions import db
from tests.connectors.conftest import contract
from tests.factories.auth import make_application


@pytest.fixture
def keys(monkeypatch):
    provider = MemoryKeyProvider()
    monkeypatch.setattr(services, "_keys", lambda: provider)
    return provider


def test_configuration_is_encrypted_bound_to_its_instance_and_masked(keys, db_session):
    make_application("crm", contract=contract())
    first = services.create_instance("crm-a", "null", "crm", {"token": "tok-secret-1"})
    second = services.create_instance("crm-b", "null", "crm", {"token": "tok-secret-2"})
    assert b"tok-secret" not in first.config_ciphertext
    assert services.decrypt_config(first)["token"] == "tok-secret-1"
    assert services.instance_document(first)["config"] == {"token": "********", "fail_with": None}
    # a configuration moved to another row does not decrypt
    second.config_ciphertext, second.wrapped_key = first.config_ciphertext, first.wrapped_key
    with pytest.raises(Exception):
        services.decrypt_config(second)


def test_masked_secrets_sent_back_are_kept(keys, db_session):
    make_application("crm", contract=contract())
    services.create_instance("crm-a", "null", "crm", {"token": "tok-secret-1"})
    services.update_instance("crm-a", config={"token": "********", "fail_with": "retry"})
    config = services.decrypt_config(services.get_instance("crm-a"))
    assert config == {"token": "tok-secret-1", "fail_with": "retry"}


def test_rekey_after_rotation_lets_the_old_version_go(keys, db_session):
    make_application("crm", contract=contract())
    instance = services.create_instance("crm-a", "null", "crm", {"token": "tok-secret-1"})
    assert instance.kek_version == 1
    keys.create_version()
    assert services.rekey_instances() == 1 and instance.kek_version == 2
    assert services.key_versions_in_use() == {2: 1}
    keys.retire(1)
    assert services.decrypt_config(instance)["token"] == "tok-secret-1"
    assert services.rekey_instances() == 0


def test_purpose_must_be_the_contracts_and_names_are_checked(keys, db_session):
    make_application("crm", contract=contract(purposes=("notify",)))
    with pytest.raises(ValidationFailed) as refused:
        services.create_instance("crm-a", "null", "crm", {}, purpose="marketing")
    assert "purpose" in refused.value.errors
    with pytest.raises(ValidationFailed):
        services.create_instance("Not A Name", "null", "crm", {})
    with pytest.raises(NotFound):
        services.create_instance("crm-b", "null", "nobody", {})
    assert services.create_instance("crm-c", "null", "crm", {}, purpose="notify").purpose == "notify"


def test_an_instance_of_a_type_no_longer_enabled_is_kept_but_unused(keys, db_session, app, monkeypatch):
    make_application("crm", contract=contract())
    services.create_instance("crm-a", "null", "crm", {"token": "t"})
    db.session.flush()
    state = app.extensions["gru.connectors"]
    monkeypatch.setattr(state, "types", {key: value for key, value in state.types.items() if key != "null"})
    document = services.instance_document(services.get_instance("crm-a"))
    assert document["is_loaded"] is False and document["config"] == {"token": "********", "fail_with": "********"}
    with pytest.raises(ValidationFailed):
        services.update_instance("crm-a", config={})
    from gru.connectors.dispatch import subscriptions

    assert subscriptions(db.session) == []
