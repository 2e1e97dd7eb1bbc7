"""The landing-file contract: which entities exist and which columns each one carries.

Everything downstream (the raw loader, the dbt sources, the demo generator) reads these
definitions, so the contract is written down once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    name: str
    required: bool
    columns: tuple[str, ...]
    # Columns without which a file of this entity cannot be used at all.
    required_columns: tuple[str, ...]
    # The timestamp column whose format `date_format` in mapping.yaml describes.
    timestamp_columns: tuple[str, ...] = ()
    description: str = ""

    @property
    def raw_table(self) -> str:
        return self.name


CUSTOMERS = Entity(
    name="customers",
    required=False,
    columns=(
        "customer_id",
        "signup_at",
        "country",
        "acquisition_channel",
        "email",
        "marketing_opt_in",
    ),
    required_columns=("customer_id",),
    timestamp_columns=("signup_at",),
    description="Customer records: one row per customer.",
)

ORDERS = Entity(
    name="orders",
    required=True,
    columns=("order_id", "customer_id", "ordered_at", "amount", "status"),
    required_columns=("customer_id", "ordered_at", "amount"),
    timestamp_columns=("ordered_at",),
    description="Orders: one row per order (status completed/cancelled/refunded).",
)

ORDER_ITEMS = Entity(
    name="order_items",
    required=False,
    columns=("order_id", "product_id", "category", "quantity", "unit_price"),
    required_columns=("order_id",),
    description="Order lines: product, category, quantity and unit price per order.",
)

EVENTS = Entity(
    name="events",
    required=False,
    columns=("customer_id", "occurred_at", "event_type", "properties"),
    required_columns=("customer_id", "occurred_at", "event_type"),
    timestamp_columns=("occurred_at",),
    description="Web/app/email events per customer.",
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (CUSTOMERS, ORDERS, ORDER_ITEMS, EVENTS)}

ORDER_STATUSES = ("completed", "cancelled", "refunded")

# Event types the engagement features know by name; other types still count as activity.
KNOWN_EVENT_TYPES = (
    "session_start",
    "page_view",
    "product_view",
    "add_to_cart",
    "checkout_start",
    "login",
    "email_sent",
    "email_open",
    "email_click",
    "support_ticket",
    "review",
)
