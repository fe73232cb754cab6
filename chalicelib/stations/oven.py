"""The oven: bakes one pizza at a time for the pizza workflow.

Each bake is its own piece of work, keyed by ``bakeId`` (``<orderId>.<itemId>.<attempt>``,
so baking a burnt pizza again is new work), and reported to the pizza instance that sent
BAKE_PIZZA (the command's CloudEvent subject). Staff finish a bake (PIZZA_BAKED) or reject
it as burnt with a reason (PIZZA_BURNT) on the board, through the station routes.

An order that is cancelled while its pizzas bake stops them (they cannot cancel their own
work: a stopped workflow runs nothing) and sends CANCEL_BAKES for itself. So the oven
keeps, per order, a list of the bakes it held (``station#oven!order#<orderId>``, with the
tombstones' TTL), each listed before it is held: CANCEL_BAKES marks the order cancelled
and closes every listed bake, and a bake arriving after the mark is closed as it arrives
(a BAKE_PIZZA still on its way when the order stopped its pizza). Whichever of the two
writes the list item first, the bake ends closed: listed first, the cancel closes it
(held or not yet: a closed work id is never held); marked first, it closes itself.
"""

from __future__ import annotations

from typing import Any

from chalicelib.runtime import BadRequest, bus, client, is_instance_id, settings, store

from .station import ORDER, Station


class Oven(Station):
    """The oven station: a Station whose cancel command closes every bake of an order."""

    def _order_pk(self, order_id: str) -> str:
        return f"station#{self.name}!order#{order_id}"  # '!': no work key's pk

    def accept(self, body: str) -> bool:
        """Take BAKE_PIZZA (see Station.accept) or CANCEL_BAKES off the queue. BadRequest
        for a cancel without a valid order id."""
        event = bus.parse(body)
        if event["type"] != self.cancel:
            return super().accept(body)
        data = event.get("data") or {}
        order_id = data.get("orderId") if isinstance(data, dict) else None
        if not isinstance(order_id, str) or not is_instance_id(order_id):
            raise BadRequest(f"{self.cancel} without a valid orderId")
        self.cancel_order(order_id)
        return False

    def _hold(self, order_id: str, work: dict[str, Any]) -> bool:
        """List the bake under its order, then hold it (Station._hold); a bake of an order
        cancelled already is closed instead. Listed first: a crash in between is
        redelivered and lists it again, and a cancel in between closes it."""
        listed = self._list(
            work.get("orderId"), "SET expiresAt = :exp ADD bakes :k", {":k": {"SS": [order_id]}}
        )
        if "why" in listed:
            self._close(order_id, "its order was cancelled")
            return False
        return super()._hold(order_id, work)

    def cancel_order(self, order_id: str) -> list[str]:
        """Mark the order cancelled and close every bake listed under it (held, or not
        held yet); returns the bakes listed. Repeating it changes nothing more."""
        marked = {":why": {"S": "cancelled"}}
        listed = self._list(order_id, "SET #why = :why, expiresAt = :exp", marked)
        bakes = sorted(listed.get("bakes", {}).get("SS", []))
        for bake in bakes:
            self._close(bake, "its order was cancelled")
        return bakes

    def _list(self, order_id: Any, expression: str, values: dict[str, Any]) -> dict[str, Any]:
        """Update the order's list item (kept as long as tombstones) with ``expression``
        and return it as it is now; a bake without a valid order id is listed nowhere."""
        if not isinstance(order_id, str) or not is_instance_id(order_id):
            return {}
        names = {"ExpressionAttributeNames": {"#why": "why"}} if "#why" in expression else {}
        return store.call(
            client("dynamodb").update_item,
            Key=store.key(self._order_pk(order_id), ORDER),
            UpdateExpression=expression,
            ExpressionAttributeValues={
                **values,
                ":exp": store.expires_in(settings().event_id_ttl_seconds),
            },
            ReturnValues="ALL_NEW",
            **names,
        )["Attributes"]


OVEN = Oven(
    "oven", "BAKE_PIZZA", "PIZZA_BAKED", cancel="CANCEL_BAKES", reject="PIZZA_BURNT",
    key_field="bakeId", subject_field="pizzaId",
    keep=("orderId", "itemId", "pizza", "attempt"), report_fields=("bakeId", "itemId"),
    noun="pizza",
)  # fmt: skip
