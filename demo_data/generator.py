"""Deterministic demo data: customers, orders, order lines and events with planted structure.

Everything is vectorised with NumPy so 1M customers take seconds, not hours. Times are kept as
float days since the start of the history until the files are written.

What is planted (and written to a separate ground-truth folder that only tests read):
- 7 behavioural personas (see ``personas.py``),
- seasonality (a summer lift and a November/December peak) on the seasonal personas,
- replenishment cycles (loyal regulars order every ~26-45 days, regularly),
- churn preceded by engagement decline: sessions and email opens fade over the 8 weeks before a
  churner's last order and nearly vanish after it,
- category co-purchase pairs (customers who buy X often buy Y),
- category habits: a replenishment category bought on a per-customer cycle and a seasonal
  category bought in the same months each year (``category_habits.py``, its own random stream),
- a decision style and a preferred contact channel per customer (``behaviour.py``, added on top
  of the events above from a random stream of its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from demo_data.category_habits import plant_habits
from demo_data.personas import PERSONA_NAMES, PERSONAS, Persona

DEFAULT_START = date(2023, 1, 1)
DEFAULT_END = date(2025, 12, 31)  # last day with data; the default as-of date is the day after
EVENT_HISTORY_DAYS = 365  # web tracking started a year before the end
DECLINE_DAYS = 56  # engagement fades over the 8 weeks before a churner's last order

COUNTRIES = np.array(["DE", "FR", "NL", "GB", "US", "ES", "IT", "SE"])
COUNTRY_WEIGHTS = np.array([0.24, 0.16, 0.10, 0.14, 0.18, 0.08, 0.06, 0.04])
CHANNELS = np.array(["organic", "paid_search", "social", "email", "referral", "affiliate"])
CHANNEL_WEIGHTS = np.array([0.32, 0.24, 0.16, 0.10, 0.10, 0.08])

CATEGORIES = np.array(
    [
        "Running shoes",
        "Socks",
        "Coffee beans",
        "Coffee filters",
        "Camera",
        "Memory cards",
        "Yoga mats",
        "Water bottles",
        "Books",
        "Toys",
        "Skincare",
        "Kitchenware",
    ]
)
# antecedent -> consequent, with the probability that a buyer of the first adds the second.
CATEGORY_PAIRS = (
    ("Running shoes", "Socks", 0.55),
    ("Coffee beans", "Coffee filters", 0.5),
    ("Camera", "Memory cards", 0.6),
    ("Yoga mats", "Water bottles", 0.45),
)
PRODUCTS_PER_CATEGORY = 8
# Categories customers choose freely; consequents come mostly through their pair.
_ANCHOR_CATEGORIES = np.array(
    [i for i, c in enumerate(CATEGORIES) if c not in {p[1] for p in CATEGORY_PAIRS}]
)

EVENT_TYPES = np.array(
    [
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
    ]
)
_EV = {name: i for i, name in enumerate(EVENT_TYPES)}


@dataclass
class DemoDataset:
    """Integer-coded frames; ``writer.py`` turns codes into the contract's text."""

    start: date
    end: date
    customers: pd.DataFrame  # customer_idx, signup_day, country, channel, opt_in
    orders: pd.DataFrame  # order_idx, customer_idx, day, amount, status
    order_items: pd.DataFrame  # order_idx, line, category, product, quantity, unit_price
    events: pd.DataFrame  # customer_idx, day, event_type, product
    truth: pd.DataFrame  # customer_idx, persona, churn_day, mean_interval_days
    # Planted replenishment and seasonal categories (category_habits.TRUTH_COLUMNS).
    habits: pd.DataFrame | None = None
    # customer_idx, decision_style, preferred_channel (codes of demo_data/behaviour.py)
    behaviour_truth: pd.DataFrame | None = None


def generate(
    n_customers: int = 5000,
    seed: int = 42,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
) -> DemoDataset:
    if n_customers < 1:
        raise ValueError("n_customers must be at least 1")
    if end <= start + timedelta(days=EVENT_HISTORY_DAYS):
        raise ValueError("the history must be longer than the event history (365 days)")
    rng = np.random.default_rng(seed)
    horizon = float((end - start).days + 1)  # days are [0, horizon)
    clock = SeasonalClock(start, int(horizon))

    persona_idx = _assign_personas(n_customers, rng)
    signup = np.empty(n_customers)
    churn = np.full(n_customers, np.nan)
    mean_interval = np.empty(n_customers)
    for p, persona in enumerate(PERSONAS):
        members = np.flatnonzero(persona_idx == p)
        lo, hi = persona.signup_window
        signup[members] = rng.uniform(lo, hi, members.size) * horizon
        mean_interval[members] = rng.uniform(*persona.mean_interval_days, members.size)
        if persona.churn_window:
            clo, chi = persona.churn_window
            churn[members] = np.maximum(
                rng.uniform(clo, chi, members.size) * horizon, signup[members] + 60
            )

    orders = _generate_orders(persona_idx, signup, churn, mean_interval, horizon, clock, rng)
    # Ground truth churn date = the last order a churner actually placed.
    last_order = orders.groupby("customer_idx")["day"].max().reindex(range(n_customers)).to_numpy()
    churn_day = np.where(np.isnan(churn), np.nan, last_order)
    customers = pd.DataFrame(
        {
            "customer_idx": np.arange(n_customers),
            "signup_day": signup,
            "country": rng.choice(len(COUNTRIES), n_customers, p=COUNTRY_WEIGHTS),
            "channel": rng.choice(len(CHANNELS), n_customers, p=CHANNEL_WEIGHTS),
            "opt_in": rng.random(n_customers) < 0.7,
        }
    )
    items = _generate_items(orders, rng)
    calendar = pd.date_range(start, periods=int(horizon) + 1, freq="D")
    habits = plant_habits(
        orders,
        items,
        list(PERSONA_NAMES),
        persona_idx,
        mean_interval,
        CATEGORIES,
        PRODUCTS_PER_CATEGORY,
        calendar.month.to_numpy(),
        calendar.year.to_numpy(),
        seed,
    )
    items = habits.order_items
    events = _generate_events(
        persona_idx, signup, churn_day, customers["opt_in"].to_numpy(), orders, horizon, rng
    )
    events, behaviour_truth = _plant_behaviour(
        events, orders, items, persona_idx, churn_day, horizon, seed
    )
    truth = pd.DataFrame(
        {
            "customer_idx": np.arange(n_customers),
            "persona": persona_idx,
            "churn_day": churn_day,
            "mean_interval_days": mean_interval,
        }
    )
    return DemoDataset(
        start, end, customers, orders, items, events, truth, habits.truth, behaviour_truth
    )


class SeasonalClock:
    """Maps calendar days to 'seasonal time' so renewal processes speed up in peak season."""

    def __init__(self, start: date, n_days: int) -> None:
        days = pd.date_range(start, periods=n_days, freq="D")
        doy = days.day_of_year.to_numpy()
        weight = (
            1.0
            + 0.2 * np.sin(2 * np.pi * (doy - 100) / 365.25)
            + 1.2 * np.exp(-(((doy - 335) / 14.0) ** 2))  # Black Friday to Christmas
        )
        self.mean_weight = float(weight.mean())
        self._cum = np.concatenate([[0.0], np.cumsum(weight)])
        self._days = np.arange(n_days + 1, dtype=float)

    def to_seasonal(self, day: np.ndarray) -> np.ndarray:
        return np.interp(day, self._days, self._cum)

    def to_calendar(self, seasonal: np.ndarray) -> np.ndarray:
        return np.interp(seasonal, self._cum, self._days)


def _assign_personas(n: int, rng: np.random.Generator) -> np.ndarray:
    shares = np.array([p.share for p in PERSONAS])
    counts = np.floor(shares / shares.sum() * n).astype(int)
    counts[: n - counts.sum()] += 1  # hand out the remainder deterministically
    return rng.permutation(np.repeat(np.arange(len(PERSONAS)), counts))


def _generate_orders(
    persona_idx: np.ndarray,
    signup: np.ndarray,
    churn: np.ndarray,
    mean_interval: np.ndarray,
    horizon: float,
    clock: SeasonalClock,
    rng: np.random.Generator,
) -> pd.DataFrame:
    frames = []
    for p, persona in enumerate(PERSONAS):
        members = np.flatnonzero(persona_idx == p)
        members = members[rng.random(members.size) < persona.order_probability]
        if members.size == 0:
            continue
        stop = np.where(np.isnan(churn[members]), horizon, churn[members])
        # Most customers order within days of signing up.
        first = signup[members] + rng.exponential(3.0, members.size)
        if persona.max_orders == 1:
            first = signup[members] + rng.uniform(0, 1, members.size) * (horizon - signup[members])
        cust, day = _renewal(persona, members, first, stop, mean_interval[members], clock, rng)
        frames.append(pd.DataFrame({"customer_idx": cust, "day": day, "persona": p}))
    orders = pd.concat(frames, ignore_index=True)
    orders = orders[orders["day"] < horizon]
    orders = orders.sort_values(["day", "customer_idx"], kind="stable").reset_index(drop=True)

    n = len(orders)
    customer_level = np.exp(rng.normal(0, 0.3, persona_idx.size))
    aov = np.array([p.mean_order_value for p in PERSONAS])[orders["persona"].to_numpy()]
    sigma = 0.45
    amount = aov * customer_level[orders["customer_idx"].to_numpy()]
    amount = amount * np.exp(rng.normal(-(sigma**2) / 2, sigma, n))
    status = np.zeros(n, dtype=np.int8)  # 0 completed, 1 cancelled, 2 refunded
    roll = rng.random(n)
    status[roll < 0.03] = 1
    status[(roll >= 0.03) & (roll < 0.05)] = 2
    orders["amount"] = np.round(np.maximum(amount, 1.0), 2)
    orders["status"] = status
    orders["order_idx"] = np.arange(n)
    return orders[["order_idx", "customer_idx", "day", "amount", "status"]]


def _renewal(
    persona: Persona,
    members: np.ndarray,
    first: np.ndarray,
    stop: np.ndarray,
    mean_interval: np.ndarray,
    clock: SeasonalClock,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Order times of a gamma renewal process per customer, from `first` until `stop`."""
    span = np.maximum(stop - first, 0)
    max_k = int(np.ceil((span / mean_interval).max() * 1.6)) + 4
    if persona.max_orders is not None:
        max_k = min(max_k, persona.max_orders)
    shape = persona.interval_shape
    gaps = rng.gamma(shape, 1.0 / shape, (members.size, max_k)) * mean_interval[:, None]
    gaps[:, 0] = 0.0
    if persona.seasonal:
        seasonal_first = clock.to_seasonal(first)
        times = clock.to_calendar(
            seasonal_first[:, None] + np.cumsum(gaps, axis=1) * clock.mean_weight
        )
    else:
        times = first[:, None] + np.cumsum(gaps, axis=1)
    keep = times < stop[:, None]
    rows, _ = np.nonzero(keep)
    return members[rows], times[keep]


def _generate_items(orders: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """1-3 lines per order from the customer's favourite categories, plus planted add-ons."""
    n_customers = int(orders["customer_idx"].max()) + 1 if len(orders) else 1
    favourites = _favourite_categories(n_customers, rng)
    n_orders = len(orders)
    n_lines = rng.choice([1, 2, 3], n_orders, p=[0.5, 0.35, 0.15])
    order_of_line = np.repeat(np.arange(n_orders), n_lines)
    cust = orders["customer_idx"].to_numpy()[order_of_line]
    pick = rng.choice(3, order_of_line.size, p=[0.6, 0.3, 0.1])
    category = favourites[cust, pick]
    # Planted co-purchase: an anchor line brings its pair category into the same basket.
    extra_orders, extra_categories = [], []
    for antecedent, consequent, probability in CATEGORY_PAIRS:
        a = int(np.flatnonzero(antecedent == CATEGORIES)[0])
        c = int(np.flatnonzero(consequent == CATEGORIES)[0])
        has_anchor = np.zeros(n_orders, dtype=bool)
        has_anchor[order_of_line[category == a]] = True
        adds = np.flatnonzero(has_anchor & (rng.random(n_orders) < probability))
        extra_orders.append(adds)
        extra_categories.append(np.full(adds.size, c))
    order_of_line = np.concatenate([order_of_line, *extra_orders])
    category = np.concatenate([category, *extra_categories])
    sort = np.argsort(order_of_line, kind="stable")
    order_of_line, category = order_of_line[sort], category[sort]
    # Duplicate categories within one order collapse into one line.
    dedup = pd.DataFrame({"order": order_of_line, "category": category}).drop_duplicates()
    order_of_line = dedup["order"].to_numpy()
    category = dedup["category"].to_numpy()

    quantity = rng.choice([1, 2, 3], order_of_line.size, p=[0.75, 0.2, 0.05])
    product = category * PRODUCTS_PER_CATEGORY + rng.integers(
        0, PRODUCTS_PER_CATEGORY, category.size
    )
    # Split each order's amount over its lines so the lines add up to the order amount.
    weight = rng.gamma(2.0, 1.0, order_of_line.size) * quantity
    weight_total = np.bincount(order_of_line, weights=weight, minlength=n_orders)
    amounts = orders["amount"].to_numpy()
    line_amount = amounts[order_of_line] * weight / weight_total[order_of_line]
    unit_price = np.round(line_amount / quantity, 2)
    line = pd.Series(order_of_line).groupby(order_of_line).cumcount().to_numpy() + 1
    return pd.DataFrame(
        {
            "order_idx": orders["order_idx"].to_numpy()[order_of_line],
            "line": line,
            "category": category,
            "product": product,
            "quantity": quantity,
            "unit_price": unit_price,
        }
    )


def _favourite_categories(n_customers: int, rng: np.random.Generator) -> np.ndarray:
    """Three distinct favourite anchor categories per customer (vectorised)."""
    scores = rng.random((n_customers, _ANCHOR_CATEGORIES.size))
    top3 = np.argsort(scores, axis=1)[:, :3]
    return _ANCHOR_CATEGORIES[top3]


def _generate_events(
    persona_idx: np.ndarray,
    signup: np.ndarray,
    churn_day: np.ndarray,
    opt_in: np.ndarray,
    orders: pd.DataFrame,
    horizon: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    window_start = horizon - EVENT_HISTORY_DAYS
    n = persona_idx.size
    active_from = np.maximum(signup, window_start)
    span = np.maximum(horizon - active_from, 0.0)
    rate = np.array([p.sessions_per_week / 7.0 for p in PERSONAS])[persona_idx]
    # Customer-level engagement varies around the persona's rate.
    rate = rate * np.exp(rng.normal(-0.08, 0.4, n))

    # Sessions: thin a homogeneous Poisson process by the customer's engagement curve.
    n_candidates = rng.poisson(rate * span)
    cust = np.repeat(np.arange(n), n_candidates)
    day = active_from[cust] + rng.random(cust.size) * span[cust]
    keep = rng.random(cust.size) < _engagement(day, churn_day[cust])
    session_cust, session_day = cust[keep], day[keep]

    parts = [_session_events(session_cust, session_day, persona_idx, rng)]
    parts.append(_order_events(orders, window_start))
    parts.append(_email_events(persona_idx, signup, churn_day, opt_in, window_start, horizon, rng))
    parts.append(_service_events(orders, persona_idx, churn_day, window_start, horizon, rng))
    events = pd.concat(parts, ignore_index=True)
    events = events[(events["day"] >= window_start) & (events["day"] < horizon)]
    return events.sort_values(["day", "customer_idx"], kind="stable").reset_index(drop=True)


def _plant_behaviour(
    events: pd.DataFrame,
    orders: pd.DataFrame,
    items: pd.DataFrame,
    persona_idx: np.ndarray,
    churn_day: np.ndarray,
    horizon: float,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decision styles and preferred channels, planted on top of the generated events from a
    stream of their own (demo_data/behaviour.py), so nothing generated above changes."""
    from demo_data.behaviour import plant_behaviour

    sends = events[events["event_type"] == _EV["email_sent"]]
    engagement = _engagement(sends["day"].to_numpy(), churn_day[sends["customer_idx"].to_numpy()])
    return plant_behaviour(
        events,
        orders,
        items,
        persona_idx,
        engagement,
        _EV,
        horizon - EVENT_HISTORY_DAYS,
        horizon,
        seed,
    )


def _engagement(day: np.ndarray, churn_day: np.ndarray) -> np.ndarray:
    """1 while active; fades linearly over DECLINE_DAYS before a churner's last order; ~0 after."""
    with np.errstate(invalid="ignore"):
        until_churn = churn_day - day
        fading = np.clip(until_churn / DECLINE_DAYS, 0.0, 1.0) * 0.9 + 0.1
        level = np.where(until_churn < 0, 0.03, fading)
    return np.where(np.isnan(churn_day), 1.0, level)


def _session_events(
    cust: np.ndarray, day: np.ndarray, persona_idx: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    persona = persona_idx[cust]
    pv_rate = np.array([p.page_views_per_session for p in PERSONAS])[persona]
    prod_rate = np.array([p.product_views_per_session for p in PERSONAS])[persona]
    cart_p = np.array([p.cart_probability for p in PERSONAS])[persona]
    counts = {
        "session_start": np.ones(cust.size, dtype=int),
        "page_view": rng.poisson(pv_rate),
        "product_view": rng.poisson(prod_rate),
        "add_to_cart": (rng.random(cust.size) < cart_p).astype(int),
        "login": (rng.random(cust.size) < 0.4).astype(int),
    }
    counts["checkout_start"] = counts["add_to_cart"] * (rng.random(cust.size) < 0.3)
    frames = []
    for name, count in counts.items():
        idx = np.repeat(np.arange(cust.size), count)
        offset = rng.random(idx.size) * (20 / 1440)  # within 20 minutes of the session start
        frames.append(
            pd.DataFrame(
                {
                    "customer_idx": cust[idx],
                    "day": day[idx] + offset,
                    "event_type": np.int8(_EV[name]),
                    "product": np.where(name == "product_view", rng.integers(0, 96, idx.size), -1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _order_events(orders: pd.DataFrame, window_start: float) -> pd.DataFrame:
    """Each order in the tracked window comes with a session, a cart add and a checkout."""
    recent = orders[orders["day"] >= window_start]
    frames = [
        pd.DataFrame(
            {
                "customer_idx": recent["customer_idx"].to_numpy(),
                "day": recent["day"].to_numpy() - minutes / 1440,
                "event_type": np.int8(_EV[name]),
                "product": -1,
            }
        )
        for name, minutes in (("session_start", 12), ("add_to_cart", 8), ("checkout_start", 3))
    ]
    return pd.concat(frames, ignore_index=True)


def _email_events(
    persona_idx: np.ndarray,
    signup: np.ndarray,
    churn_day: np.ndarray,
    opt_in: np.ndarray,
    window_start: float,
    horizon: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """A campaign every 21 days to opted-in customers; opens fade with engagement."""
    sends = np.arange(np.ceil(window_start), horizon, 21.0) + 9 / 24  # 09:00
    receivers = np.flatnonzero(opt_in)
    cust = np.repeat(receivers, sends.size)
    day = np.tile(sends, receivers.size)
    keep = day >= signup[cust]
    cust, day = cust[keep], day[keep]
    open_p = np.array([p.email_open_probability for p in PERSONAS])[persona_idx[cust]]
    opened = rng.random(cust.size) < open_p * _engagement(day, churn_day[cust])
    clicked = opened & (rng.random(cust.size) < 0.3)
    open_day = day + rng.exponential(0.5, cust.size)
    frames = [
        pd.DataFrame({"customer_idx": c, "day": d, "event_type": np.int8(_EV[t]), "product": -1})
        for c, d, t in (
            (cust, day, "email_sent"),
            (cust[opened], open_day[opened], "email_open"),
            (cust[clicked], open_day[clicked] + 0.01, "email_click"),
        )
    ]
    return pd.concat(frames, ignore_index=True)


def _service_events(
    orders: pd.DataFrame,
    persona_idx: np.ndarray,
    churn_day: np.ndarray,
    window_start: float,
    horizon: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Reviews after some orders; support tickets, more often in the weeks before churning."""
    recent = orders[orders["day"] >= window_start]
    reviewed = recent[rng.random(len(recent)) < 0.08]
    reviews = pd.DataFrame(
        {
            "customer_idx": reviewed["customer_idx"].to_numpy(),
            "day": reviewed["day"].to_numpy() + rng.uniform(3, 10, len(reviewed)),
            "event_type": np.int8(_EV["review"]),
            "product": -1,
        }
    )
    n = persona_idx.size
    base = rng.poisson(0.3, n)  # a few tickets per year for anyone
    cust = np.repeat(np.arange(n), base)
    day = rng.uniform(window_start, horizon, cust.size)
    churners = np.flatnonzero(~np.isnan(churn_day) & (churn_day >= window_start))
    unhappy = churners[rng.random(churners.size) < 0.35]
    tickets = pd.DataFrame(
        {
            "customer_idx": np.concatenate([cust, unhappy]),
            "day": np.concatenate([day, churn_day[unhappy] - rng.uniform(5, 40, unhappy.size)]),
            "event_type": np.int8(_EV["support_ticket"]),
            "product": -1,
        }
    )
    return pd.concat([reviews, tickets], ignore_index=True)
