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
    names = np.array(persona_names)[persona_idx]
    replenisher = rng.random(n) < np.vectorize(REPLENISHMENT_TENDENCY.get)(names)
    seasonal = rng.random(n) < np.vectorize(SEASONAL_TENDENCY.get)(names)
    cycle = rng.uniform(*CYCLE_DAYS, n)
    season_start = rng.integers(1, 13, n)
    season_length = rng.choice(SEASON_LENGTHS, n, p=SEASON_LENGTH_WEIGHTS)
    replenish_pick = rng.random(n)
    season_pick = rng.random(n)

    completed = orders[orders["status"] == 0]
    by_customer = completed.groupby("customer_idx")
    order_customer = orders.set_index("order_idx")["customer_idx"]
    bought = items.assign(customer_idx=items["order_idx"].map(order_customer).to_numpy())
    bought_sets = bought.groupby("customer_idx")["category"].agg(set)
    code = {str(c): i for i, c in enumerate(categories)}

    added: list[tuple[int, int]] = []  # (order_idx, category code)
    truth: list[dict] = []
    for customer, group in by_customer:
        customer = int(customer)
        if not (replenisher[customer] or seasonal[customer]):
            continue
        days = group["day"].to_numpy()
        order_ids = group["order_idx"].to_numpy()
        owned = set(bought_sets.get(customer, set()))
        if replenisher[customer]:
            low = max(CYCLE_DAYS[0], MIN_GAPS_PER_CYCLE * mean_interval[customer])
            choices = [code[c] for c in REPLENISHMENT_CATEGORIES if code[c] not in owned]
            if low <= CYCLE_DAYS[1] and choices:
                category = choices[int(replenish_pick[customer] * len(choices))]
                cycle_days = low + (cycle[customer] - CYCLE_DAYS[0]) / np.ptp(CYCLE_DAYS) * (
                    CYCLE_DAYS[1] - low
                )
                picked = _on_cycle(days, cycle_days)
                added += [(int(order_ids[i]), category) for i in picked]
                owned.add(category)
                truth.append(
                    _truth_row(
                        customer,
                        "replenishment",
                        categories[category],
                        picked,
                        year_of_day[days[picked].astype(int)],
                        cycle_days=round(float(cycle_days), 1),
                    )
                )
        # A season needs orders to land in: on average at least ORDERS_PER_SEASON of them.
        min_length = int(np.ceil(ORDERS_PER_SEASON * mean_interval[customer] / DAYS_PER_MONTH))
        if seasonal[customer] and min_length <= max(SEASON_LENGTHS):
            choices = [code[c] for c in SEASONAL_CATEGORIES if code[c] not in owned]
            if choices:
                category = choices[int(season_pick[customer] * len(choices))]
                length = max(min_length, int(season_length[customer]))
                months = (season_start[customer] - 1 + np.arange(length)) % 12 + 1
                whole_days = days.astype(int)
                picked = np.flatnonzero(np.isin(month_of_day[whole_days], months))
                # A season wrapping into January belongs to the year it started in.
                season_year = year_of_day[whole_days] - (
                    month_of_day[whole_days] < season_start[customer]
                )
                added += [(int(order_ids[i]), category) for i in picked]
                truth.append(
                    _truth_row(
                        customer,
                        "seasonal",
                        categories[category],
                        picked,
                        season_year[picked],
                        season_months=",".join(str(m) for m in months),
                    )
                )
    return PlantedHabits(
        _add_lines(orders, items, added, products_per_category, rng),
        pd.DataFrame(truth, columns=TRUTH_COLUMNS),
    )


TRUTH_COLUMNS = [
    "customer_idx",
    "habit",
    "category",
    "cycle_days",
    "season_months",
    "planted_purchases",
    "planted_years",
]


def _truth_row(
    customer: int,
    habit: str,
    category: str,
    picked: np.ndarray,
    years: np.ndarray,
    cycle_days: float | None = None,
    season_months: str | None = None,
) -> dict:
    return {
        "customer_idx": customer,
        "habit": habit,
        "category": str(category),
        "cycle_days": cycle_days,
        "season_months": season_months,
        "planted_purchases": int(picked.size),
        "planted_years": int(np.unique(years).size),
    }


def _on_cycle(days: np.ndarray, cycle_days: float) -> np.ndarray:
    """Indexes of the orders that buy on the cycle: the first order, then each time the order
    closest to `cycle_days` after the previous pick (a gap in ordering ends the habit)."""
    picked = [0]
    while True:
        target = days[picked[-1]] + cycle_days
        later = np.flatnonzero(days > days[picked[-1]] + cycle_days / 2)
        if later.size == 0:
            break
        best = later[np.argmin(np.abs(days[later] - target))]
        if abs(days[best] - target) > cycle_days / 4:
            break
        picked.append(int(best))
    return np.array(picked, dtype=int)


def _add_lines(
    orders: pd.DataFrame,
    items: pd.DataFrame,
    added: list[tuple[int, int]],
    products_per_category: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Items plus one line per (order, category) in `added`; the new line takes a share of the
    order's amount and the order's other lines shrink by that share (lines still add up)."""
    if not added:
        return items
    new = pd.DataFrame(added, columns=["order_idx", "category"]).drop_duplicates()
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
    return combined.sort_values(["order_idx", "line"], kind="stable").reset_index(drop=True)
