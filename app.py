"""Chalice wiring only: each handler parses, calls one function and renders."""

from chalice import Chalice

from chalicelib.orders.workflow import describe, order_machine

app = Chalice(app_name="tropical-pizzas")
ORDER_MACHINE = order_machine()


@app.route("/workflows/order", methods=["GET"])
def order_workflow() -> dict:
    """The order workflow's definition (XState JSON) and Mermaid diagram."""
    return describe(ORDER_MACHINE)
