"""The behavioural personas the demo data plants, so the models can be tested against truth."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    # When customers of this persona signed up, as fractions of the history (0 = start, 1 = end).
    signup_window: tuple[float, float]
    # Order process: a renewal process with gamma intervals (shape controls regularity).
    mean_interval_days: tuple[float, float]  # each customer draws uniformly from this range
    interval_shape: float
    seasonal: bool  # intervals run on the seasonal clock (more orders in Q4)
    max_orders: int | None  # None: unlimited within the active period
    order_probability: float  # share of customers of the persona who order at all
    mean_order_value: float
    # Churn: the customer stops ordering at a date drawn from this window (fractions of history).
    churn_window: tuple[float, float] | None
    # Engagement: sessions per week while active, and how a session looks.
    sessions_per_week: float
    page_views_per_session: float
    product_views_per_session: float
    cart_probability: float
    email_open_probability: float
    description: str


# Shares sum to 1. Windows are fractions of the generated history (default 3 years).
PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="champions",
        share=0.10,
        signup_window=(0.0, 0.55),
        mean_interval_days=(16, 28),
        interval_shape=3.0,
        seasonal=True,
        max_orders=None,
        order_probability=1.0,
        mean_order_value=190.0,
        churn_window=None,
        sessions_per_week=0.6,
        page_views_per_session=1.0,
        product_views_per_session=0.8,
        cart_probability=0.45,
        email_open_probability=0.65,
        description="Frequent, recent, high-spending and engaged.",
    ),
    Persona(
        name="loyal_regulars",
        share=0.18,
        signup_window=(0.0, 0.6),
        mean_interval_days=(26, 45),
        interval_shape=16.0,  # replenishment: a customer who buys every ~N weeks
        seasonal=False,
        max_orders=None,
        order_probability=1.0,
        mean_order_value=55.0,
        churn_window=None,
        sessions_per_week=0.3,
        page_views_per_session=0.8,
        product_views_per_session=0.5,
        cart_probability=0.35,
        email_open_probability=0.45,
        description="Replenishment buyers on a steady cycle, medium basket.",
    ),
    Persona(
        name="bargain_occasional",
        share=0.20,
        signup_window=(0.0, 0.7),
        mean_interval_days=(110, 170),
        interval_shape=3.0,
        seasonal=True,
        max_orders=None,
        order_probability=1.0,
        mean_order_value=22.0,
        churn_window=None,
        sessions_per_week=0.12,
        page_views_per_session=0.8,
        product_views_per_session=0.6,
        cart_probability=0.25,
        email_open_probability=0.2,
        description="Buy rarely and cheaply, mostly in seasonal peaks.",
    ),
    Persona(
        name="new_customers",
        share=0.12,
        signup_window=(0.93, 0.995),
        mean_interval_days=(20, 35),
        interval_shape=2.0,
        seasonal=False,
        max_orders=2,
        order_probability=1.0,
        mean_order_value=50.0,
        churn_window=None,
        sessions_per_week=0.6,
        page_views_per_session=1.0,
        product_views_per_session=0.9,
        cart_probability=0.35,
        email_open_probability=0.5,
        description="Signed up in the last weeks, one or two orders so far.",
    ),
    Persona(
        name="window_shoppers",
        share=0.10,
        signup_window=(0.2, 0.9),
        mean_interval_days=(300, 400),
        interval_shape=1.0,
        seasonal=False,
        max_orders=1,
        order_probability=0.25,
        mean_order_value=35.0,
        churn_window=None,
        sessions_per_week=1.0,
        page_views_per_session=1.5,
        product_views_per_session=1.8,
        cart_probability=0.5,
        email_open_probability=0.55,
        description="Browse a lot, add to cart, rarely buy.",
    ),
    Persona(
        name="lapsing",
        share=0.15,
        signup_window=(0.0, 0.5),
        mean_interval_days=(22, 40),
        interval_shape=5.0,
        seasonal=False,
        max_orders=None,
        order_probability=1.0,
        mean_order_value=95.0,
        # Stop ordering between ~11 and ~2 months before the end.
        churn_window=(0.72, 0.94),
        sessions_per_week=0.4,
        page_views_per_session=0.8,
        product_views_per_session=0.6,
        cart_probability=0.35,
        email_open_probability=0.45,
        description="Used to buy regularly and spend well; engagement fell, then orders stopped.",
    ),
    Persona(
        name="lost",
        share=0.15,
        signup_window=(0.0, 0.25),
        mean_interval_days=(35, 60),
        interval_shape=3.0,
        seasonal=True,
        max_orders=None,
        order_probability=1.0,
        mean_order_value=32.0,
        churn_window=(0.25, 0.5),
        sessions_per_week=0.2,
        page_views_per_session=0.8,
        product_views_per_session=0.5,
        cart_probability=0.25,
        email_open_probability=0.3,
        description="Bought for a while long ago and have been gone for a year or more.",
    ),
)

PERSONA_NAMES = tuple(p.name for p in PERSONAS)
