"""Planted category habits: replenishment cycles and seasonal categories, through order lines.

A customer may get a replenishment category bought every ~`cycle_days` (30-120 days) and/or a
seasonal category bought in the same 1-3 calendar months every year. Both are planted by adding
a line of the category to the customer's existing completed orders (on the cycle / in the
season): orders, amounts and dates stay exactly as generated, so the churn and value truth does
not move. The added line takes a share of its order's amount from the other lines, so the lines
still add up to the order. The draws come from their own generator (seed, 2102): the existing
random streams, and so the rest of the demo data, are unchanged.

Who gets a habit is a persona-level tendency plus chance per customer, never one fixed answer
per persona. What was planted is written to demo_truth/category_cadence_truth.csv.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STREAM = 2102  # the habit generator is np.random.default_rng([seed, STREAM])

# Share of each persona's customers who get a replenishment / seasonal habit.
REPLENISHMENT_TENDENCY = {
    "champions": 0.5,
    "loyal_regulars": 0.7,
    "bargain_occasional": 0.05,
    "new_customers": 0.0,
    "window_shoppers": 0.0,
    "lapsing": 0.4,
    "lost": 0.3,
}
SEASONAL_TENDENCY = {
    "champions": 0.4,
    "loyal_regulars": 0.35,
    "bargain_occasional": 0.3,
    "new_customers": 0.0,
    "window_shoppers": 0.0,
    "lapsing": 0.3,
    "lost": 0.2,
}
# Only categories outside the planted co-purchase pairs, so the pairs' rules and basket rates
# (and the recommendation tests built on them) stay as planted.
REPLENISHMENT_CATEGORIES = ("Skincare", "Kitchenware")
SEASONAL_CATEGORIES = ("Toys", "Books")
CYCLE_DAYS = (30.0, 120.0)
# A cycle needs orders to land on: at least this many of the customer's usual order gaps.
MIN_GAPS_PER_CYCLE = 2.5
SEASON_LENGTHS = (1, 2, 3)
ORDERS_PER_SEASON = 1.5
DAYS_PER_MONTH = 30.44
SEASON_LENGTH_WEIGHTS = (0.3, 0.4, 0.3)
LINE_SHARE = (0.15, 0.35)  # the added line's share of its order's amount


@dataclass
class PlantedHabits:
    order_items: pd.DataFrame
    # customer_idx, habit (replenishment/seasonal), category, cycle_days, season_months
    # ("5,6"), planted_purchases, planted_years
    truth: pd.DataFrame


def plant_habits(
    orders: pd.DataFrame,
    items: pd.DataFrame,
    persona_names: list[str],
    persona_idx: np.ndarray,
    mean_interval: np.ndarray,
    categories: np.ndarray,
    products_per_category: int,
    month_of_day: np.ndarray,
    year_of_day: np.ndarray,
    seed: int,
) -> PlantedHabits:
    """Add habit lines to completed orders. `month_of_day`/`year_of_day`: calendar month and
    year of each whole day since the start of the history."""
    rng = np.random.default_rng([seed, STREAM])
    n = persona_idx.size
    replenish_share = np.array([REPLENISHMENT_TENDENCY.get(p, 0.0) for p in persona_names])
    season_share = np.array([SEASONAL_TENDENCY.get(p, 0.0) for p in persona_names])
    replenisher = rng.random(n) < replenish_share[persona_idx]
    seasonal = rng.random(n) < season_share[persona_idx]
    cycle = rng.uniform(*CYCLE_DAYS, n)
    season_start = rng.integers(1, 13, n)
    season_length = rng.choice(SEASON_LENGTHS, n, p=SEASON_LENGTH_WEIGHTS)
    replenish_pick = rng.random(n)
    season_pick = rng.random(n)

    is_completed = orders["status"].to_numpy() == 0
    cust = orders["customer_idx"].to_numpy()[is_completed]
    days = orders["day"].to_numpy()[is_completed]
    order_ids = orders["order_idx"].to_numpy()[is_completed]
    by_customer_day = np.lexsort((days, cust))  # numpy: much faster than a pandas sort
    cust, days, order_ids = cust[by_customer_day], days[by_customer_day], order_ids[by_customer_day]
    has_orders = np.zeros(n, dtype=bool)
    has_orders[cust] = True
    # Categories each customer already buys: a habit is a category new to them.
    line_customer = orders["customer_idx"].to_numpy()[
        np.searchsorted(orders["order_idx"].to_numpy(), items["order_idx"].to_numpy())
    ]
    owned = np.zeros((n, len(categories)), dtype=bool)
    owned[line_customer, items["category"].to_numpy()] = True
    code = {str(c): i for i, c in enumerate(categories)}

    # Replenishment: a cycle of at least MIN_GAPS_PER_CYCLE usual gaps, up to CYCLE_DAYS[1].
    low = np.maximum(CYCLE_DAYS[0], MIN_GAPS_PER_CYCLE * mean_interval)
    cycle_days = low + (cycle - CYCLE_DAYS[0]) / np.ptp(CYCLE_DAYS) * (CYCLE_DAYS[1] - low)
    replenish_category = _pick_new(
        owned, [code[c] for c in REPLENISHMENT_CATEGORIES], replenish_pick
    )
    replenishing = np.flatnonzero(
        replenisher & has_orders & (low <= CYCLE_DAYS[1]) & (replenish_category >= 0)
    )
    owned[replenishing, replenish_category[replenishing]] = True
    replenish_rows, replenish_customers = _on_cycle(cust, days, replenishing, cycle_days)
    replenish_truth = _truth(
        replenishing,
        "replenishment",
        categories[replenish_category[replenishing]],
        replenish_customers,
        year_of_day[days[replenish_rows].astype(int)],
        cycle_days=np.round(cycle_days[replenishing], 1),
    )

    # Seasonal: a season long enough for ORDERS_PER_SEASON of the customer's orders on average.
    min_length = np.ceil(ORDERS_PER_SEASON * mean_interval / DAYS_PER_MONTH).astype(int)
    length = np.maximum(min_length, season_length)
    season_category = _pick_new(owned, [code[c] for c in SEASONAL_CATEGORIES], season_pick)
    in_season_customers = np.flatnonzero(
        seasonal & has_orders & (min_length <= max(SEASON_LENGTHS)) & (season_category >= 0)
    )
    chosen = np.zeros(n, dtype=bool)
    chosen[in_season_customers] = True
    whole_days = days.astype(int)
    month = month_of_day[whole_days]
    offset = (month - season_start[cust]) % 12
    season_rows = np.flatnonzero(chosen[cust] & (offset < length[cust]))
    # A season wrapping into January belongs to the year it started in.
    season_year = year_of_day[whole_days] - (month < season_start[cust])
    season_truth = _truth(
        in_season_customers,
        "seasonal",
        categories[season_category[in_season_customers]],
        cust[season_rows],
        season_year[season_rows],
        season_months=[
            ",".join(str((season_start[c] - 1 + k) % 12 + 1) for k in range(length[c]))
            for c in in_season_customers
        ],
    )
    added = pd.DataFrame(
        {
            "order_idx": np.concatenate([order_ids[replenish_rows], order_ids[season_rows]]),
            "category": np.concatenate(
                [
                    replenish_category[cust[replenish_rows]],
                    season_category[cust[season_rows]],
                ]
            ),
        }
    )
    truth = pd.concat([replenish_truth, season_truth], ignore_index=True)
    truth = truth.sort_values(["customer_idx", "habit"], kind="stable").reset_index(drop=True)
    return PlantedHabits(
        _add_lines(orders, items, added, products_per_category, rng), truth[TRUTH_COLUMNS]
    )


def _pick_new(owned: np.ndarray, candidates: list[int], pick: np.ndarray) -> np.ndarray:
    """Per customer, the candidate category at position floor(pick x available) among those
    the customer does not buy yet; -1 when they buy them all."""
    available = ~owned[:, candidates]
    count = available.sum(axis=1)
    k = np.floor(pick * count).astype(int)
    position = np.cumsum(available, axis=1) - 1
    hit = available & (position == k[:, None])
    chosen = np.array(candidates)[hit.argmax(axis=1)]
    return np.where(count > 0, chosen, -1)


TRUTH_COLUMNS = [
    "customer_idx",
    "habit",
    "category",
    "cycle_days",
    "season_months",
    "planted_purchases",
    "planted_years",
]


def _truth(
    customers: np.ndarray,
    habit: str,
    category: np.ndarray,
    planted_customer: np.ndarray,
    planted_year: np.ndarray,
    cycle_days: np.ndarray | None = None,
    season_months: list[str] | None = None,
) -> pd.DataFrame:
    """One truth row per customer: the habit and how many purchases / distinct years were
    planted (`planted_customer`, `planted_year`: one entry per planted purchase)."""
    planted = pd.DataFrame({"customer_idx": planted_customer, "year": planted_year})
    per_customer = planted.groupby("customer_idx")["year"].agg(["size", "nunique"])
    per_customer = per_customer.reindex(customers, fill_value=0)
    return pd.DataFrame(
        {
            "customer_idx": customers,
            "habit": habit,
            "category": category.astype(str),
            "cycle_days": cycle_days if cycle_days is not None else np.nan,
            "season_months": season_months if season_months is not None else None,
            "planted_purchases": per_customer["size"].to_numpy(),
            "planted_years": per_customer["nunique"].to_numpy(),
        }
    )


def _on_cycle(
    cust: np.ndarray, days: np.ndarray, customers: np.ndarray, cycle_days: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (of orders sorted by customer and day) that buy on the cycle, for all `customers`
    at once: the first order, then each time the order closest to the cycle after the previous
    pick among those more than half a cycle after it; a pick further than a quarter cycle from
    the target (a gap in ordering) ends the habit. Returns the rows and their customers."""
    # Customers' orders are contiguous; a key orders them by customer, then day.
    span = float(days.max()) + 1.0 if days.size else 1.0
    key = cust * span + days
    start = np.searchsorted(cust, customers, side="left")
    end = np.searchsorted(cust, customers, side="right")
    current = start.copy()
    active = np.arange(customers.size)
    rows, owners = [current.copy()], [customers.copy()]
    cycle = cycle_days[customers]
    while active.size:
        c, cur = customers[active], current[active]
        target = days[cur] + cycle[active]
        lo = np.searchsorted(key, c * span + days[cur] + cycle[active] / 2, side="right")
        after = np.searchsorted(key, c * span + target, side="left")
        before = after - 1
        stop = end[active]
        dist_after = np.where(
            after < stop, np.abs(days[np.minimum(after, key.size - 1)] - target), np.inf
        )
        dist_before = np.where(
            (before >= lo) & (before < stop),
            np.abs(days[np.clip(before, 0, None)] - target),
            np.inf,
        )
        best = np.where(dist_before <= dist_after, before, after)
        distance = np.minimum(dist_before, dist_after)
        ok = distance <= cycle[active] / 4
        current[active[ok]] = best[ok]
        rows.append(best[ok])
        owners.append(c[ok])
        active = active[ok]
    return np.concatenate(rows), np.concatenate(owners)


def _add_lines(
    orders: pd.DataFrame,
    items: pd.DataFrame,
    added: pd.DataFrame,
    products_per_category: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Items plus one line per (order_idx, category) in `added`; the new line takes a share of
    the order's amount and the order's other lines shrink by that share (lines still add up)."""
    if added.empty:
        return items
    new = added.drop_duplicates()
    new = new.sort_values(["order_idx", "category"], kind="stable").reset_index(drop=True)
    share = rng.uniform(*LINE_SHARE, len(new))
    amount = orders.set_index("order_idx")["amount"].reindex(new["order_idx"]).to_numpy()
    shrink = 1 - pd.Series(share, index=new["order_idx"]).groupby(level=0).sum()
    items = items.copy()
    factor = items["order_idx"].map(shrink).fillna(1.0).to_numpy()
    items["unit_price"] = np.round(items["unit_price"].to_numpy() * factor, 2)
    new_lines = pd.DataFrame(
        {
            "order_idx": new["order_idx"].to_numpy(),
            "line": items.groupby("order_idx")["line"]
            .max()
            .reindex(new["order_idx"])
            .fillna(0)
            .astype(int)
            .to_numpy()
            + new.groupby("order_idx").cumcount().to_numpy()
            + 1,
            "category": new["category"].to_numpy(),
            "product": new["category"].to_numpy() * products_per_category
            + rng.integers(0, products_per_category, len(new)),
            "quantity": 1,
            "unit_price": np.round(amount * share, 2),
        }
    )
    combined = pd.concat([items, new_lines.astype(items.dtypes.to_dict())], ignore_index=True)
    by_order_line = np.lexsort((combined["line"].to_numpy(), combined["order_idx"].to_numpy()))
    return combined.iloc[by_order_line].reset_index(drop=True)
