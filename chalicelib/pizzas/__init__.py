"""The pizza workflow: one pizza of an order, baked in the oven (a child of the order)."""
