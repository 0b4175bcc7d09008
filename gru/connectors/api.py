"""Admin API of the connectors (scope ``admin``): instances, deliveries, dead letters, status.

No personal data here: configurations come back with their secrets masked, deliveries
name parties by id only. Each handler loads, calls one service, commits once, dumps.
"""

from flask_smorest import Blueprint

from gru.auth.bearer import require_scope
from gru.connectors import deliveries, services
from gru.connectors.schemas import (
    DeliveryListSchema,
    DeliveryQuerySchema,
    DeliverySchema,
    InstanceInputSchema,
    InstanceListSchema,
    InstanceSchema,
    InstanceUpdateSchema,
    ReplaySchema,
    StatusListSchema,
    TypeListSchema,
)
from gru.extensions import db

blp = Blueprint("connectors", __name__, url_prefix="/api/v1", description="Connectors and deliveries (admin)")


@blp.route("/connector-types", methods=["GET"])
@require_scope("admin", personal_data=False)
@blp.response(200, TypeListSchema)
def list_types():
    """Connector types loaded (``GRU_CONNECTORS_ENABLED``), with their fields and secret fields."""
    return {"items": [services.type_document(name, cls) for name, cls in services.connector_types().items()]}


@blp.route("/connectors", methods=["GET"])
@require_scope("admin", personal_data=False)
@blp.response(200, InstanceListSchema)
def list_instances():
    """Every configured instance, secrets masked."""
    return {"items": [services.instance_document(instance) for instance in services.list_instances()]}


@blp.route("/connectors", methods=["POST"])
@require_scope("admin", personal_data=False)
@blp.arguments(InstanceInputSchema)
@blp.response(201, InstanceSchema)
@blp.alt_response(409, "CONFLICT")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def create_instance(body):
    """Configure an instance: its configuration is validated by its type, stored encrypted."""
    instance = services.create_instance(body["name"], body["type"], body["application"], body["config"],
                                        purpose=body["purpose"], is_enabled=body["is_enabled"])
    db.session.commit()
    return services.instance_document(instance)


@blp.route("/connector-status", methods=["GET"])
@require_scope("admin", personal_data=False)
@blp.response(200, StatusListSchema)
def status():
    """Per instance: deliveries by status and lag (age of the oldest delivery not yet sent)."""
    return {"items": deliveries.instance_status()}


@blp.route("/connectors/<string:name>", methods=["GET"])
@require_scope("admin", personal_data=False)
@blp.response(200, InstanceSchema)
@blp.alt_response(404, "NOT_FOUND")
def read_instance(name):
    return services.instance_document(services.get_instance(name))


@blp.route("/connectors/<string:name>", methods=["PATCH"])
@require_scope("admin", personal_data=False)
@blp.arguments(InstanceUpdateSchema)
@blp.response(200, InstanceSchema)
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def update_instance(body, name):
    """Change the configuration (whole; masked secrets are kept), purpose or state."""
    instance = services.update_instance(name, config=body.get("config"), purpose=body.get("purpose", ...),
                                        is_enabled=body.get("is_enabled"))
    db.session.commit()
    return services.instance_document(instance)


@blp.route("/connectors/<string:name>", methods=["DELETE"])
@require_scope("admin", personal_data=False)
@blp.response(204)
@blp.alt_response(404, "NOT_FOUND")
def delete_instance(name):
    services.delete_instance(name)
    db.session.commit()


@blp.route("/connectors/<string:name>/deliveries", methods=["GET"])
@require_scope("admin", personal_data=False)
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, DeliveryListSchema)
@blp.alt_response(404, "NOT_FOUND")
def instance_deliveries(query, name):
    """The instance's deliveries, newest first; filters ``status``, ``party_id``."""
    found = deliveries.list_deliveries(instance_name=name, party_id=query.get("party_id"),
                                       status=query.get("status"), limit=query["limit"])
    return {"items": [deliveries.delivery_document(delivery) for delivery in found]}


@blp.route("/connectors/<string:name>/replay", methods=["POST"])
@require_scope("admin", personal_data=False)
@blp.response(200, ReplaySchema)
@blp.alt_response(404, "NOT_FOUND")
def replay_instance(name):
    """Send every dead delivery of the instance again."""
    count = deliveries.replay_dead(name)
    db.session.commit()
    return {"replayed": count}


@blp.route("/deliveries/<string:delivery_id>", methods=["GET"])
@require_scope("admin", personal_data=False)
@blp.response(200, DeliverySchema)
@blp.alt_response(404, "NOT_FOUND")
def read_delivery(delivery_id):
    return deliveries.delivery_document(deliveries.get_delivery(delivery_id))


@blp.route("/deliveries/<string:delivery_id>/replay", methods=["POST"])
@require_scope("admin", personal_data=False)
@blp.response(200, DeliverySchema)
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(422, "UNPROCESSABLE_ENTITY")
def replay_delivery(delivery_id):
    """Send one dead delivery again."""
    delivery = deliveries.replay_delivery(delivery_id)
    db.session.commit()
    return deliveries.delivery_document(delivery)


@blp.route("/parties/<uuid:party_id>/deliveries", methods=["GET"])
@require_scope("admin", personal_data=False)
@blp.response(200, DeliveryListSchema)
def party_deliveries(party_id):
    """Delivery status of one party's events, per instance in sequence order."""
    return {"items": [deliveries.delivery_document(delivery, type_) for delivery, type_ in deliveries.party_status(party_id)]}
