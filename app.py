"""Chalice wiring only: each handler parses, calls one function and renders."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from chalice import AuthResponse, Chalice, Rate, Response

from chalicelib.complaints import service as complaints
from chalicelib.orders import service
from chalicelib.registry import QUEUES, SERVICES, WORKFLOWS
from chalicelib.runtime import (
    Forbidden,
    Unauthorized,
    WorkflowError,
    auth,
    definitions,
    follow,
    framework_error,
    idempotency_key,
    inspection,
    intake,
    invocation,
    journal,
    json_object,
    settings,
    sweeper,
    wiring,
)
from chalicelib.stations import service as stations
from chalicelib.web import web

app = Chalice(app_name="tropical-pizzas")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.register_blueprint(web)
app.log.setLevel(logging.INFO)
logging.getLogger("workflow").setLevel(logging.INFO)

JSON = {"Content-Type": "application/json"}


@app.middleware("all")
def observed(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every handler: its ids on each log line, its metrics written when it returns."""
    with invocation.observed(event):
        return get_response(event)


@app.middleware("http")
def uniform_errors(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice's own refusals (415, 405) answer in the API's error format too."""
    response = get_response(event)
    translated = framework_error(response.body) if response.status_code >= 400 else None
    if translated is not None:
        response.body = translated
    return response


@app.authorizer(ttl_seconds=0)
def jwt_authorizer(request: Any) -> AuthResponse:
    """Verify the bearer token. A bad one is admitted with ``authError`` set so the
    route answers 401 saying what is wrong (a Lambda authorizer can only say
    "Unauthorized"); no route runs for it."""
    try:
        principal = auth.verify(request.token, auth.trusted(settings()))
    except Unauthorized as error:
        return AuthResponse(routes=["*"], principal_id="-", context={"authError": error.message})
    return AuthResponse(
        routes=["*"], principal_id=principal.user, context={"roles": ",".join(principal.roles)}
    )


def _principal() -> auth.Principal:
    context = app.current_request.context.get("authorizer") or {}
    if context.get("authError") or "principalId" not in context:
        raise Unauthorized(context.get("authError") or "missing bearer token")
    return auth.from_context(context)


def api(status: int = 200) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Render a route's result as JSON; WorkflowError -> its status and a JSON body."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Response]:
        @wraps(fn)
        def route(*args: Any, **kwargs: Any) -> Response:
            try:
                return Response(body=fn(*args, **kwargs), status_code=status, headers=JSON)
            except WorkflowError as error:
                return Response(body=error.to_body(), status_code=error.status, headers=JSON)
            except Exception:
                app.log.exception("unexpected error")
                body = {"error": "InternalError", "message": "internal error; nothing was lost"}
                return Response(body=body, status_code=500, headers=JSON)

        return route

    return decorate


def _body(required: bool = True) -> dict[str, Any]:
    return json_object(app.current_request.raw_body, required)


def _key() -> str | None:
    return idempotency_key(dict(app.current_request.headers))


@app.route("/workflows/{name}", methods=["GET"], authorizer=jwt_authorizer)
@api()
def workflow_definition(name: str) -> dict:
    _principal()
    return definitions.describe(WORKFLOWS, name)


@app.route("/orders", methods=["POST"], authorizer=jwt_authorizer)
@api(status=201)
def place_order() -> dict:
    return service.place_order(_principal(), _body(), _key())


@app.route("/orders", methods=["GET"], authorizer=jwt_authorizer)
@api()
def my_orders() -> dict:
    return service.my_orders(_principal(), dict(app.current_request.query_params or {}))


@app.route("/menu", methods=["GET"], authorizer=jwt_authorizer)
@api()
def menu() -> dict:
    _principal()
    return service.menu()


@app.route("/orders/{order_id}", methods=["GET"], authorizer=jwt_authorizer)
@api()
def get_order(order_id: str) -> dict:
    return complaints.order_with_complaint(_principal(), order_id)


@app.route("/orders/{order_id}/pizzas", methods=["POST"], authorizer=jwt_authorizer)
@api()
def add_pizza(order_id: str) -> dict:
    return service.send_event(_principal(), order_id, "ADD_PIZZA", _body(), _key())


@app.route("/orders/{order_id}/pizzas/{item_id}", methods=["DELETE"], authorizer=jwt_authorizer)
@api()
def remove_pizza(order_id: str, item_id: str) -> dict:
    return service.send_event(_principal(), order_id, "REMOVE_PIZZA", {"itemId": item_id}, _key())


@app.route("/orders/{order_id}/confirm", methods=["POST"], authorizer=jwt_authorizer)
@api()
def confirm_order(order_id: str) -> dict:
    return service.send_event(_principal(), order_id, "CONFIRM_PIZZA", _body(False), _key())


@app.route("/orders/{order_id}/cancel", methods=["POST"], authorizer=jwt_authorizer)
@api()
def cancel_order(order_id: str) -> dict:
    return service.send_event(_principal(), order_id, "CANCEL_ORDER", _body(False), _key())


@app.route("/orders/{order_id}/events", methods=["POST"], authorizer=jwt_authorizer)
@api()
def order_event(order_id: str) -> dict:
    return service.send_any_event(_principal(), order_id, _body(), _key())


@app.route("/orders/{order_id}/history", methods=["GET"], authorizer=jwt_authorizer)
@api()
def order_history(order_id: str) -> dict:
    return service.order_history(_principal(), order_id)


@app.route("/orders/{order_id}/diagram", methods=["GET"], authorizer=jwt_authorizer)
@api()
def order_diagram(order_id: str) -> dict:
    return service.order_diagram(_principal(), order_id)


def _staff() -> auth.Principal:
    principal = _principal()
    if not principal.is_staff:
        raise Forbidden("this route needs the 'staff' role")
    return principal


@app.route("/workflows/{name}/instances/{instance_id}", methods=["GET"], authorizer=jwt_authorizer)
@api()
def inspect_instance(name: str, instance_id: str) -> dict:
    _staff()
    return inspection.instance(inspection.workflow_named(WORKFLOWS, name), instance_id)


@app.route(
    "/workflows/{name}/instances/{instance_id}/history", methods=["GET"], authorizer=jwt_authorizer
)
@api()
def inspect_history(name: str, instance_id: str) -> dict:
    _staff()
    return inspection.history(inspection.workflow_named(WORKFLOWS, name), instance_id)


def _finish(station: str, order_id: str) -> dict:
    target = None if order_id == "next" else order_id
    return service.station_finish(_principal(), station, target, _body(False))


@app.route("/kitchen/orders", methods=["GET"], authorizer=jwt_authorizer)
@api()
def kitchen_orders() -> dict:
    return service.station_orders(_principal(), "kitchen")


@app.route("/kitchen/orders/{order_id}/ready", methods=["POST"], authorizer=jwt_authorizer)
@api()
def kitchen_ready(order_id: str) -> dict:
    return _finish("kitchen", order_id)


@app.route("/kitchen/orders/{order_id}/rejected", methods=["POST"], authorizer=jwt_authorizer)
@api()
def kitchen_rejected(order_id: str) -> dict:
    return stations.reject_work(_principal(), "kitchen", order_id, _body())


@app.route("/delivery/orders", methods=["GET"], authorizer=jwt_authorizer)
@api()
def delivery_orders() -> dict:
    return service.station_orders(_principal(), "delivery")


@app.route("/delivery/orders/{order_id}/delivered", methods=["POST"], authorizer=jwt_authorizer)
@api()
def delivery_delivered(order_id: str) -> dict:
    return _finish("delivery", order_id)


# complaints: the customer's routes under their order, then staff, then payments


@app.route("/orders/{order_id}/complaint", methods=["POST"], authorizer=jwt_authorizer)
@api(status=201)
def open_complaint(order_id: str) -> dict:
    return complaints.open_complaint(_principal(), order_id, _body(), _key())


@app.route("/orders/{order_id}/complaint", methods=["GET"], authorizer=jwt_authorizer)
@api()
def get_complaint(order_id: str) -> dict:
    return complaints.get_complaint(_principal(), order_id)


@app.route("/orders/{order_id}/complaint/answer", methods=["POST"], authorizer=jwt_authorizer)
@api()
def answer_complaint(order_id: str) -> dict:
    return complaints.customer_event(_principal(), order_id, "ANSWER", _body(), _key())


@app.route("/orders/{order_id}/complaint/withdraw", methods=["POST"], authorizer=jwt_authorizer)
@api()
def withdraw_complaint(order_id: str) -> dict:
    return complaints.customer_event(_principal(), order_id, "WITHDRAW", _body(False), _key())


@app.route("/orders/{order_id}/complaint/history", methods=["GET"], authorizer=jwt_authorizer)
@api()
def complaint_history(order_id: str) -> dict:
    return complaints.complaint_history(_principal(), order_id)


@app.route("/orders/{order_id}/complaint/diagram", methods=["GET"], authorizer=jwt_authorizer)
@api()
def complaint_diagram(order_id: str) -> dict:
    return complaints.complaint_diagram(_principal(), order_id)


@app.route("/complaints", methods=["GET"], authorizer=jwt_authorizer)
@api()
def open_complaints() -> dict:
    return complaints.open_complaints(_principal())


@app.route("/complaints/{order_id}/claim", methods=["POST"], authorizer=jwt_authorizer)
@api()
def claim_complaint(order_id: str) -> dict:
    return complaints.staff_event(_principal(), order_id, "CLAIM", _body(False), _key())


@app.route("/complaints/{order_id}/question", methods=["POST"], authorizer=jwt_authorizer)
@api()
def ask_customer(order_id: str) -> dict:
    return complaints.staff_event(_principal(), order_id, "ASK_CUSTOMER", _body(), _key())


@app.route("/complaints/{order_id}/decision", methods=["POST"], authorizer=jwt_authorizer)
@api()
def decide_complaint(order_id: str) -> dict:
    return complaints.decide(_principal(), order_id, _body(), _key())


@app.route("/payments/refunds", methods=["GET"], authorizer=jwt_authorizer)
@api()
def payments_refunds() -> dict:
    return {"station": "payments", "refunds": stations.held_work(_principal(), "payments")}


@app.route("/payments/refunds/{refund_id}/settled", methods=["POST"], authorizer=jwt_authorizer)
@api()
def refund_settled(refund_id: str) -> dict:
    target = None if refund_id == "next" else refund_id
    return stations.finish_work(_principal(), "payments", target, _body(False))


# every station in chalicelib/stations (a new one too) under /stations/<name>, for staff
@app.route("/stations/{name}/work", methods=["GET"], authorizer=jwt_authorizer)
@api()
def station_work(name: str) -> dict:
    return {"station": name, "work": stations.held_work(_principal(), name)}


@app.route("/stations/{name}/work/{work_id}/finished", methods=["POST"], authorizer=jwt_authorizer)
@api()
def station_work_finished(name: str, work_id: str) -> dict:
    target = None if work_id == "next" else work_id
    return stations.finish_work(_principal(), name, target, _body(False))


@app.route("/stations/{name}/work/{work_id}/rejected", methods=["POST"], authorizer=jwt_authorizer)
@api()
def station_work_rejected(name: str, work_id: str) -> dict:
    return stations.reject_work(_principal(), name, work_id, _body())


def _batch(records: Any, handle: Callable[[str], Any]) -> dict:
    """Handle each SQS record alone; report the failed ones (partial batch response)."""
    failures = []
    for record in records:
        message_id = record.to_dict()["messageId"]
        try:
            with journal.correlated(messageId=message_id):
                handle(record.body)
        except Exception:
            app.log.exception("record %s failed; SQS will redeliver it", message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def _drain(queue: wiring.Queue, handle: Callable[[str], Any]) -> None:
    """Register the SQS handler that drains ``queue`` (as ``app.<queue.handler>``, the
    name Chalice packages it under)."""

    def handler(event: Any) -> dict:
        return _batch(event, handle)

    handler.__name__ = handler.__qualname__ = queue.handler
    decorate = app.on_sqs_message(
        queue=queue.name, batch_size=10, maximum_concurrency=queue.concurrency
    )
    globals()[queue.handler] = decorate(handler)


def _handle(queue: wiring.Queue) -> Callable[[str], Any]:
    if queue.kind == "events":
        return lambda body: intake.receive(WORKFLOWS, queue.owner, body)
    if queue.kind == "commands":
        return SERVICES[queue.owner].accept
    return lambda body: intake.fire_timer(WORKFLOWS, body)


for _queue in QUEUES:  # every workflow's events, every service's commands, the timers
    _drain(_queue, _handle(_queue))


@app.schedule(Rate(1, unit=Rate.MINUTES))
def outbox_sweeper(event: Any) -> dict:
    return {"swept": sweeper.run(WORKFLOWS)}


def _ws(handle: Callable[[], Any]) -> dict:
    try:
        handle()
    except WorkflowError as error:
        return {"statusCode": error.status, "body": json.dumps(error.to_body())}
    return {"statusCode": 200}


@app.on_ws_connect()
def ws_connect(event: Any) -> dict:
    query = event.to_dict().get("queryStringParameters") or {}
    workflow = query.get("workflow") or ("order" if "orderId" in query else None)
    return _ws(
        lambda: follow.connect(
            WORKFLOWS,
            event.connection_id,
            query.get("token"),
            auth.trusted(settings()),
            workflow,
            query.get("id") or query.get("orderId"),
            query.get("feed"),
        )
    )


@app.on_ws_message()
def ws_message(event: Any) -> dict:
    return _ws(lambda: follow.push_current_view(WORKFLOWS, event.connection_id))


@app.on_ws_disconnect()
def ws_disconnect(event: Any) -> dict:
    return _ws(lambda: follow.disconnect(event.connection_id))
