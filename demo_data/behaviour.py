"""Planted buying behaviour: a decision style and a preferred contact channel per customer.

Drawn from its own random stream (``[seed, 2101]``) and only *adds* events or properties to the
events the generator already made, so every other file and number stays exactly as before.

- Decision style (impulse / considered / hesitant): before each order in the tracked window the
  customer views one of the ordered products minutes before (impulse, in the order's session),
  hours to ~2.5 days before in an earlier session (considered), or 4-12 days before with a cart
  add and 2-3 sessions coming back to it (hesitant). 85% of a customer's purchases follow their
  style, the rest one drawn at random.
- Preferred channel (email / web / app / chat / phone): sessions carry ``{"channel": "web"|"app"}``
  (90% on the planted one for web and app lovers, an even split otherwise); e-mail lovers open
  almost every campaign; chat and phone lovers open support tickets about as often as they
  visit, ``{"channel": "chat"|"phone"}`` (every ticket carries a channel).

Both are a persona-level tendency plus an individual draw, so a persona does not give the
answer away. The planted values are written to ``demo_truth/behaviour_truth.csv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demo_data.personas import PERSONA_NAMES

CONTACT_CHANNELS = np.array(["email", "web", "app", "chat", "phone"])
DECISION_STYLES = np.array(["impulse", "considered", "hesitant"])
BEHAVIOUR_STREAM = 2101
STYLE_FOLLOWED = 0.85  # share of a customer's purchases that follow their planted style

# Persona -> probabilities of (email, web, app, chat, phone): where the persona tends to answer.
CHANNEL_TENDENCY: dict[str, tuple[float, ...]] = {
    "champions": (0.10, 0.25, 0.50, 0.10, 0.05),
    "loyal_regulars": (0.35, 0.30, 0.20, 0.05, 0.10),
    "bargain_occasional": (0.50, 0.30, 0.10, 0.05, 0.05),
    "new_customers": (0.25, 0.35, 0.30, 0.10, 0.00),
    "window_shoppers": (0.10, 0.50, 0.30, 0.10, 0.00),
    "lapsing": (0.30, 0.25, 0.15, 0.10, 0.20),
    "lost": (0.50, 0.30, 0.10, 0.05, 0.05),
}
# Persona -> probabilities of (impulse, considered, hesitant).
STYLE_TENDENCY: dict[str, tuple[float, ...]] = {
    "champions": (0.60, 0.30, 0.10),
    "loyal_regulars": (0.50, 0.40, 0.10),
    "bargain_occasional": (0.20, 0.40, 0.40),
    "new_customers": (0.30, 0.50, 0.20),
    "window_shoppers": (0.10, 0.20, 0.70),
    "lapsing": (0.30, 0.50, 0.20),
    "lost": (0.30, 0.40, 0.30),
}

_CH = {name: i for i, name in enumerate(CONTACT_CHANNELS)}
_MINUTE = 1 / 1440


def plant_behaviour(
    events: pd.DataFrame,
    orders: pd.DataFrame,
    items: pd.DataFrame,
    persona_idx: np.ndarray,
    engagement: np.ndarray,
    event_types: dict[str, int],
    window_start: float,
    horizon: float,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(events with planted rows and a `channel` column (-1: none), truth per customer).

    `engagement`: the generator's engagement level per email_sent row of `events`, in order, so
    planted opens fade for churners exactly as the generated ones do."""
    rng = np.random.default_rng([seed, BEHAVIOUR_STREAM])
    n = persona_idx.size
    channel = _draw(rng, CHANNEL_TENDENCY, persona_idx)
    style = _draw(rng, STYLE_TENDENCY, persona_idx)

    events = events.assign(channel=np.int8(-1))
    parts = [events]
    parts.append(_decision_events(orders, items, style, event_types, window_start, rng))
    parts.append(_email_responses(events, channel, engagement, event_types, rng))
    parts.append(_contact_tickets(events, channel, event_types, window_start, horizon, rng))
    planted = pd.concat(parts, ignore_index=True)
    planted = planted[(planted["day"] >= window_start) & (planted["day"] < horizon)]
    planted["channel"] = _session_and_ticket_channels(planted, channel, event_types, rng)
    planted = planted.sort_values(["day", "customer_idx"], kind="stable").reset_index(drop=True)
    truth = pd.DataFrame(
        {"customer_idx": np.arange(n), "decision_style": style, "preferred_channel": channel}
    )
    return planted, truth


def _draw(
    rng: np.random.Generator, tendency: dict[str, tuple[float, ...]], persona_idx: np.ndarray
) -> np.ndarray:
    """One category per customer from their persona's probabilities."""
    table = np.array([tendency[name] for name in PERSONA_NAMES])
    cumulative = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)[persona_idx]
    picks = (rng.random(persona_idx.size)[:, None] >= cumulative).sum(axis=1)
    return np.minimum(picks, table.shape[1] - 1).astype(np.int8)


def _frame(cust: np.ndarray, day: np.ndarray, code: int, product: np.ndarray | int = -1):
    return pd.DataFrame(
        {
            "customer_idx": cust,
            "day": day,
            "event_type": np.int8(code),
            "product": product,
            "channel": np.int8(-1),
        }
    )


def _decision_events(
    orders: pd.DataFrame,
    items: pd.DataFrame,
    style: np.ndarray,
    ev: dict[str, int],
    window_start: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Views (and cart visits) of an ordered product before each order, paced by the style."""
    ordered = orders.sort_values(["customer_idx", "day"], kind="stable")
    previous = ordered.groupby("customer_idx")["day"].shift()
    recent = ordered[ordered["day"] >= window_start]
    gap = (recent["day"] - previous.loc[recent.index]).fillna(np.inf).to_numpy()
    cust = recent["customer_idx"].to_numpy()
    day = recent["day"].to_numpy()
    first_product = items.groupby("order_idx")["product"].first()
    product = first_product.reindex(recent["order_idx"]).fillna(-1).astype(int).to_numpy()
    purchase_style = np.where(
        rng.random(cust.size) < STYLE_FOLLOWED,
        style[cust],
        rng.integers(0, DECISION_STYLES.size, cust.size),
    )
    # Lead time from the first view to the order; never reaching back past the previous order.
    lead = np.select(
        [purchase_style == 0, purchase_style == 1],
        [
            rng.uniform(5, 11, cust.size) * _MINUTE,
            rng.uniform(3, 60, cust.size) / 24,
        ],
        rng.uniform(4, 12, cust.size),
    )
    lead = np.where(purchase_style == 0, lead, np.minimum(lead, 0.8 * gap))
    frames = [_frame(cust, day - lead, ev["product_view"], product)]
    earlier = purchase_style > 0  # an earlier session of its own
    frames.append(_frame(cust[earlier], (day - lead - 2 * _MINUTE)[earlier], ev["session_start"]))
    hesitant = np.flatnonzero(purchase_style == 2)
    frames.append(
        _frame(cust[hesitant], (day - lead + 3 * _MINUTE)[hesitant], ev["add_to_cart"], -1)
    )
    # Coming back to the cart 2-3 times between the first view and the order.
    returns = rng.integers(2, 4, hesitant.size)
    which = np.repeat(hesitant, returns)
    step = np.concatenate([np.arange(1, k + 1) / (k + 1) for k in returns]) if returns.size else []
    back = day[which] - lead[which] * (1 - np.asarray(step, dtype=float))
    frames.append(_frame(cust[which], back, ev["session_start"]))
    frames.append(_frame(cust[which], back + 2 * _MINUTE, ev["product_view"], product[which]))
    return pd.concat(frames, ignore_index=True)


def _email_responses(
    events: pd.DataFrame,
    channel: np.ndarray,
    engagement: np.ndarray,
    ev: dict[str, int],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """E-mail lovers open nine in ten campaigns (while engaged), within hours."""
    sends = events[events["event_type"] == ev["email_sent"]]
    lover = channel[sends["customer_idx"].to_numpy()] == _CH["email"]
    opened = lover & (rng.random(len(sends)) < 0.9 * engagement)
    delay = rng.exponential(0.3, len(sends))
    return _frame(
        sends["customer_idx"].to_numpy()[opened],
        (sends["day"].to_numpy() + np.minimum(delay, 2.5))[opened],
        ev["email_open"],
    )


def _contact_tickets(
    events: pd.DataFrame,
    channel: np.ndarray,
    ev: dict[str, int],
    window_start: float,
    horizon: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Chat and phone lovers get in touch about 0.7 times per visit, plus one or two times."""
    sessions = events[events["event_type"] == ev["session_start"]]
    sessions = sessions.sort_values(["customer_idx", "day"], kind="stable")
    visits = np.bincount(sessions["customer_idx"], minlength=channel.size)
    first_visit = np.concatenate([[0], np.cumsum(visits)[:-1]])
    lovers = np.flatnonzero(np.isin(channel, [_CH["chat"], _CH["phone"]]))
    count = rng.poisson(0.7 * visits[lovers] + 1.5)
    cust = np.repeat(lovers, count)
    # Around their visits, so tickets fade with engagement as visits do.
    pick = first_visit[cust] + np.floor(rng.random(cust.size) * visits[cust]).astype(int)
    session_day = sessions["day"].to_numpy()
    around_visit = (
        session_day[np.minimum(pick, session_day.size - 1)]
        if session_day.size
        else np.zeros(cust.size)
    )
    day = np.where(
        visits[cust] > 0,
        around_visit + rng.uniform(0, 0.5, cust.size),
        rng.uniform(window_start, horizon, cust.size),
    )
    return _frame(cust, day, ev["support_ticket"])


def _session_and_ticket_channels(
    events: pd.DataFrame, channel: np.ndarray, ev: dict[str, int], rng: np.random.Generator
) -> np.ndarray:
    """The channel property: web/app on session starts, chat/phone on support tickets."""
    cust = events["customer_idx"].to_numpy()
    event_type = events["event_type"].to_numpy()
    planted = channel[cust]
    roll = rng.random(len(events))
    p_app = np.select([planted == _CH["app"], planted == _CH["web"]], [0.9, 0.1], 0.5)
    p_phone = np.select([planted == _CH["phone"], planted == _CH["chat"]], [0.9, 0.1], 0.5)
    session = np.where(roll < p_app, _CH["app"], _CH["web"])
    ticket = np.where(roll < p_phone, _CH["phone"], _CH["chat"])
    result = np.full(len(events), -1, dtype=np.int8)
    result = np.where(event_type == ev["session_start"], session, result)
    result = np.where(event_type == ev["support_ticket"], ticket, result)
    return result.astype(np.int8)
