"""The ``scim`` connector: keeps a SCIM 2.0 service provider in step (RFC 7643, RFC 7644).

Mapping (RFC 7643 section 4): a person is a ``User`` (``userName`` and ``externalId`` the
hub id; ``name``, ``displayName``, ``emails``, ``phoneNumbers``, ``addresses``,
``active``), and what the core schema lacks goes to the extension :data:`EXTENSION`
(``birthName``, ``usageName``, ``birthDate``, ``birthPlace``, ``birthCountry``, ``sex``); a
household, association or company is a ``Group`` (``displayName``, ``externalId``,
``members``: its current members that the provider already knows). Only the attributes
the application's contract may read are in the payload, so only those are sent.

Operations (RFC 7644 section 3): without a cross-reference, the resource is first looked up
by ``externalId`` (a create whose answer was lost is not made twice), then created
(``POST``, section 3.3) and its ``id`` recorded as the application's cross-reference;
with one, a change of attributes that are all still present is a ``PATCH`` ``replace``
(section 3.5.2.3) when the provider supports PATCH, anything else a ``PUT`` (section
3.5.1); with ETags supported (``ServiceProviderConfig`` ``etag``, section 3.14) each
replace or patch carries the ``If-Match`` of a fresh ``GET`` (a 412 is retried). A 404
means the provider lost the resource: it is created again. ``party.erased`` and
``party.merged`` delete it (section 3.6) and remove the cross-reference.
"""

import threading

from marshmallow import fields

from gru.connectors.base import REMOVE, Connector, Outcome
from gru.connectors.oauth import TOKEN_SECRET_FIELDS, TokenConfigSchema, token_source_for

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#: the extension schema of what the core User schema lacks (schema document: :func:`extension_schema`)
EXTENSION = "urn:ietf:params:scim:schemas:extension:gru:2.0:User"
CONTENT_TYPE = "application/scim+json"
#: tries of a group that wait for members the provider does not know yet
MEMBER_WAIT_ATTEMPTS = 3
_EXTENSION_KEYS = {"family_name": "birthName", "usage_name": "usageName", "birth_date": "birthDate",
                   "birth_place": "birthPlace", "birth_country": "birthCountry", "sex": "sex"}


class ScimConfigSchema(TokenConfigSchema):
    base_url = fields.Url(required=True, require_tld=False, schemes={"http", "https"},
                          metadata={"description": "SCIM base URL, e.g. https://crm.example/scim/v2"})
    #: send the extension schema (the provider must declare it on its User resource type)
    is_extension_enabled = fields.Boolean(load_default=True)


def extension_schema():
    """The :data:`EXTENSION` schema as RFC 7643 section 7 describes schemas (for providers)."""
    def attribute(name, description):
        return {"name": name, "type": "string", "multiValued": False, "description": description,
                "required": False, "caseExact": False, "mutability": "readWrite", "returned": "default",
                "uniqueness": "none"}
    return {
        "id": EXTENSION, "name": "GruUser", "description": "What the hub knows that the core User lacks",
        "attributes": [
            attribute("birthName", "family name at birth"), attribute("usageName", "name in use"),
            attribute("birthDate", "YYYY-MM-DD (00 for an unknown day or month)"),
            attribute("birthPlace", "INSEE code of the birth commune"),
            attribute("birthCountry", "INSEE code of the birth country"), attribute("sex", "M or F"),
        ],
        "meta": {"resourceType": "Schema", "location": f"/Schemas/{EXTENSION}"},
    }


def _address(value):
    """RFC 7643 section 4.1.2 ``addresses`` from the hub's address (gru.identity.addresses)."""
    lines = value.get("lines") or []
    locality = value.get("commune_name")
    address = {"type": "home", "primary": True, "streetAddress": "\n".join(lines),
               "postalCode": value.get("postal_code"), "locality": locality,
               "country": value.get("country", "NC"),
               "formatted": "\n".join([*lines, " ".join(filter(None, [value.get("postal_code"), locality]))])}
    return {key: item for key, item in address.items() if item}


def user_resource(party, with_extension=True):
    """The SCIM User of a person's payload (only the attributes in it)."""
    values = party["attributes"]
    resource = {"schemas": [USER], "userName": party["id"], "externalId": party["id"],
                "active": party["status"] == "active"}
    family = values.get("usage_name") or values.get("family_name")
    name = {key: value for key, value in (("familyName", family), ("givenName", values.get("given_names"))) if value}
    if name:
        resource["name"] = name
        resource["displayName"] = " ".join(filter(None, [values.get("given_names"), family]))
    if values.get("email"):
        resource["emails"] = [{"value": values["email"], "type": "home", "primary": True}]
    phones = [{"value": values[key], "type": kind} for key, kind in (("mobile_phone", "mobile"),
                                                                      ("landline_phone", "home")) if values.get(key)]
    if phones:
        resource["phoneNumbers"] = phones
    if isinstance(values.get("postal_address"), dict):
        resource["addresses"] = [_address(values["postal_address"])]
    extension = {scim: values[key] for key, scim in _EXTENSION_KEYS.items() if values.get(key)}
    if with_extension and extension:
        resource["schemas"] = [USER, EXTENSION]
        resource[EXTENSION] = extension
    return resource


def group_resource(party):
    """The SCIM Group of a household's, association's or company's payload."""
    values = party["attributes"]
    return {
        "schemas": [GROUP], "externalId": party["id"],
        "displayName": values.get("name") or values.get("legal_name") or party["id"],
        "members": [{"value": member["local_id"], "type": "User"}
                    for member in party.get("members", []) if member.get("local_id")],
    }


class ScimConnector(Connector):
    type = "scim"
    description = "keeps a SCIM 2.0 service provider in step: persons as Users, groups of persons as Groups"
    config_schema = ScimConfigSchema
    secret_fields = TOKEN_SECRET_FIELDS

    def __init__(self, name, config, **kwargs):
        super().__init__(name, config, **kwargs)
        self.tokens = token_source_for(config, self.timeout)
        self.base = config["base_url"].rstrip("/")
        self._features = None
        self._lock = threading.Lock()

    def _call(self, method, path, body=None, headers=None):
        headers = {"Accept": CONTENT_TYPE, **(headers or {})}
        kwargs = {}
        if body is not None:
            headers["Content-Type"] = CONTENT_TYPE
            kwargs["json"] = body
        return self.http(method, self.base + path, auth=self.tokens, headers=headers, **kwargs)

    def features(self):
        """``(etag, patch)`` support, from ``/ServiceProviderConfig`` (RFC 7644 section 4), once."""
        with self._lock:
            if self._features is None:
                response, outcome = self._call("GET", "/ServiceProviderConfig")
                if response is None or outcome.status != "delivered":
                    return None, outcome
                document = response.json()
                self._features = (bool(document.get("etag", {}).get("supported")),
                                  bool(document.get("patch", {}).get("supported")))
            return self._features, None

    def deliver(self, message):
        party = message.payload["party"]
        endpoint = "/Users" if party["kind"] == "person" else "/Groups"
        if message.type == "xref.changed":
            return Outcome.skipped("cross-references are the hub's own business")
        if message.type.startswith("consent."):
            return Outcome.skipped("SCIM has no resource for consents")
        if message.type in ("party.erased", "party.merged") or party["status"] != "active":
            return self._delete(endpoint, message.local_id)
        features, failure = self.features()
        if failure is not None:
            return failure
        if party["kind"] == "person":
            resource = user_resource(party, self.config.get("is_extension_enabled", True))
        else:
            resource = group_resource(party)
            waiting = [m for m in party.get("members", []) if not m.get("local_id")]
            if waiting and message.attempt <= MEMBER_WAIT_ATTEMPTS:
                # A member's own create may not be delivered yet (order is per party): wait
                # a little for it rather than send a group without that member.
                return Outcome.retry(f"{len(waiting)} member(s) not yet known to the provider")
        local_id = message.local_id or self._find(endpoint, party["id"])
        if isinstance(local_id, Outcome):
            return local_id
        if local_id is None:
            return self._create(endpoint, resource)
        outcome = self._update(endpoint, local_id, resource, message, features)
        if outcome.status_code == 404:  # the provider lost it: create it again
            return self._create(endpoint, resource)
        if local_id != message.local_id and outcome.status == "delivered":
            outcome.local_id = local_id
        return outcome

    def _find(self, endpoint, party_id):
        """The provider's id of the resource whose ``externalId`` is the hub id (section 3.4.2.2)."""
        response, outcome = self.http("GET", self.base + endpoint, auth=self.tokens, headers={"Accept": CONTENT_TYPE},
                                      params={"filter": f'externalId eq "{party_id}"'})
        if outcome.status != "delivered":
            return outcome
        found = response.json().get("Resources") or []
        return found[0]["id"] if found else None

    def _create(self, endpoint, resource):
        response, outcome = self._call("POST", endpoint, resource)
        if outcome.status == "delivered":
            created = response.json()
            outcome.local_id = created["id"]
            outcome.receipt.update({"operation": "create", "id": created["id"]})
        return outcome

    def _update(self, endpoint, local_id, resource, message, features):
        is_etag, is_patch = features
        headers = {}
        if is_etag:
            response, outcome = self._call("GET", f"{endpoint}/{local_id}")
            if outcome.status != "delivered":
                return outcome
            etag = response.headers.get("ETag") or response.json().get("meta", {}).get("version")
            if etag:
                headers["If-Match"] = etag
        attributes = message.payload["party"]["attributes"]
        changed = message.payload.get("changed") or []
        cleared = [key for key in changed if key not in attributes]
        if is_patch and message.type == "party.updated" and not cleared:
            value = {key: item for key, item in resource.items() if key not in ("schemas", "userName", "externalId")}
            body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": value}]}
            response, outcome = self._call("PATCH", f"{endpoint}/{local_id}", body, headers)
            operation = "patch"
        else:
            response, outcome = self._call("PUT", f"{endpoint}/{local_id}", {**resource, "id": local_id}, headers)
            operation = "replace"
        if outcome.status_code == 412:  # changed at the provider since the GET: try again
            return Outcome.retry(f"{operation} of {endpoint}/{local_id}: ETag no longer current", status_code=412)
        if outcome.status == "delivered":
            outcome.receipt.update({"operation": operation, "id": local_id})
            if response is not None and response.headers.get("ETag"):
                outcome.receipt["etag"] = response.headers["ETag"]
        return outcome

    def _delete(self, endpoint, local_id):
        if not local_id:
            return Outcome.skipped("the provider never had this party")
        _response, outcome = self._call("DELETE", f"{endpoint}/{local_id}")
        if outcome.status == "delivered" or outcome.status_code == 404:
            return Outcome.delivered(receipt={"operation": "delete", "id": local_id}, local_id=REMOVE)
        return outcome


__all__ = ["ScimConnector", "extension_schema"]
