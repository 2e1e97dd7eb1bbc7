"""Orders exports in layouts we did not design, written from one small simulated history.

Each writer puts one export (and the mapping.yaml its README section documents, or none where
sniffing suffices) into an empty landing folder and returns the orders it wrote, so tests can
check that every row arrives with the right customer, day and amount:

- ``cdnow_1990s``: whitespace-aligned, ``YYYYMMDD`` integer dates, 1997-1998, orders only, the
  shape of the CDNOW log (``customer_id  date  number_of_cds  dollar_value``), with same-day
  repeat rows merged by ``merge_same_time_rows``.
- ``semicolon_eur``: ``;``-separated, day-first dates, decimal commas, ``1.234,50 EUR`` amounts,
  an order occasionally split over two rows at the same time (``merge_same_time_rows``).
- ``headerless_pipe``: ``|``-separated without a header, columns given by position.
- ``fixed_width``: fixed-width columns with an aligned header.
- ``utf16_bom``: tab-separated UTF-16 with a byte-order mark and contract column names: no
  mapping needed.
- ``single_cohort_18_months``: every customer acquired in one month, 18 months of history,
  ``$1,234.50`` amounts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Order:
    customer: str
    day: date
    units: int
    amount: float


def simulate_orders(
    n_customers: int,
    start: date,
    days: int,
    seed: int,
    acquisition_days: int | None = None,
    same_day_repeat_share: float = 0.0,
) -> list[Order]:
    """Customers arrive over `acquisition_days` (default: the first two thirds of the period),
    buy at their own rate, and some stop buying (churn) part-way. Sorted by day, then
    customer. With `same_day_repeat_share`, that share of orders gets a second row on the
    same day (an export that splits an order into rows)."""
    rng = np.random.default_rng(seed)
    acquisition_days = acquisition_days or days * 2 // 3
    orders: list[Order] = []
    for index in range(n_customers):
        customer = f"{index + 1:05d}"
        first = int(rng.integers(0, acquisition_days))
        gap = float(rng.gamma(2.0, 25.0)) + 3
        stop = first + int(rng.exponential(days * 0.6)) if rng.random() < 0.6 else days
        day = first
        while day < min(stop, days):
            units = int(rng.integers(1, 5))
            amount = round(float(rng.gamma(2.0, 12.0)) * units + 1, 2)
            orders.append(Order(customer, start + timedelta(days=day), units, amount))
            if rng.random() < same_day_repeat_share:
                extra = round(float(rng.gamma(2.0, 10.0)) + 1, 2)
                orders.append(Order(customer, start + timedelta(days=day), 1, extra))
            day += max(1, int(rng.exponential(gap)))
    return sorted(orders, key=lambda o: (o.day, o.customer))


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def _amount_eu(value: float) -> str:
    whole, cents = f"{value:.2f}".split(".")
    return f"{int(whole):,}".replace(",", ".") + "," + cents


CDNOW_MAPPING = """\
orders:
  files: cdnow_orders.txt
  delimiter: whitespace
  merge_same_time_rows: true
  columns: {ordered_at: date, amount: dollar_value}
"""


def cdnow_1990s(landing: Path, n_customers: int = 300) -> list[Order]:
    orders = simulate_orders(
        n_customers, date(1997, 1, 1), 540, seed=1997, same_day_repeat_share=0.05
    )
    lines = [f"{'customer_id':>11}  {'date':>8}  {'number_of_cds':>13}  {'dollar_value':>12}"]
    lines += [f"{o.customer:>11}  {o.day:%Y%m%d}  {o.units:>13}  {o.amount:>12.2f}" for o in orders]
    _write(landing / "cdnow_orders.txt", "\n".join(lines) + "\n")
    _write(landing / "mapping.yaml", CDNOW_MAPPING)
    return orders


SEMICOLON_EUR_MAPPING = """\
orders:
  files: umsatz.csv
  delimiter: ";"
  date_format: "%d.%m.%Y"
  decimal_separator: ","
  currency_symbols: [EUR]
  merge_same_time_rows: true
  columns: {customer_id: Kunde, ordered_at: Datum, amount: Betrag}
"""


def semicolon_eur(landing: Path, n_customers: int = 600) -> list[Order]:
    orders = simulate_orders(
        n_customers, date(2023, 1, 2), 900, seed=2023, same_day_repeat_share=0.03
    )
    lines = ["Kunde;Datum;Anzahl;Betrag"]
    lines += [
        f"K{o.customer};{o.day:%d.%m.%Y};{o.units};{_amount_eu(o.amount * 20)} EUR" for o in orders
    ]
    _write(landing / "umsatz.csv", "\r\n".join(lines) + "\r\n")
    _write(landing / "mapping.yaml", SEMICOLON_EUR_MAPPING)
    return [Order(f"K{o.customer}", o.day, o.units, round(o.amount * 20, 2)) for o in orders]


HEADERLESS_PIPE_MAPPING = """\
orders:
  files: sales.dat
  delimiter: "|"
  header: false
  columns: {customer_id: 1, ordered_at: 2, amount: 4}
"""


def headerless_pipe(landing: Path, n_customers: int = 300) -> list[Order]:
    orders = simulate_orders(n_customers, date(2022, 6, 1), 600, seed=2022)
    lines = [f"c{o.customer}|{o.day:%Y-%m-%d}|{o.units}|{o.amount:.2f}" for o in orders]
    _write(landing / "sales.dat", "\n".join(lines) + "\n")
    _write(landing / "mapping.yaml", HEADERLESS_PIPE_MAPPING)
    return [Order(f"c{o.customer}", o.day, o.units, o.amount) for o in orders]


FIXED_WIDTH_MAPPING = """\
orders:
  files: orders.dat
  widths: [8, 10, 5, 10]
  date_format: "%m/%d/%Y"
  columns: {customer_id: CUST, ordered_at: DATE, amount: VALUE}
"""


def fixed_width(landing: Path, n_customers: int = 300) -> list[Order]:
    orders = simulate_orders(n_customers, date(2021, 3, 1), 600, seed=2021)
    lines = [f"{'CUST':<8}{'DATE':<10}{'QTY':>5}{'VALUE':>10}"]
    lines += [f"{o.customer:<8}{o.day:%m/%d/%Y}{o.units:>5}{o.amount:>10.2f}" for o in orders]
    _write(landing / "orders.dat", "\n".join(lines) + "\n")
    _write(landing / "mapping.yaml", FIXED_WIDTH_MAPPING)
    return orders


def utf16_bom(landing: Path, n_customers: int = 300) -> list[Order]:
    """Contract column names, tab-separated, UTF-16 with BOM: loads without a mapping."""
    orders = simulate_orders(n_customers, date(2022, 1, 3), 600, seed=2016)
    lines = ["customer_id\tordered_at\tamount"]
    lines += [f"kü{o.customer}\t{o.day:%Y-%m-%d}\t{o.amount:.2f}" for o in orders]
    _write(landing / "orders.csv", "\r\n".join(lines) + "\r\n", encoding="utf-16")
    return [Order(f"kü{o.customer}", o.day, o.units, o.amount) for o in orders]


SINGLE_COHORT_MAPPING = """\
orders:
  currency_symbols: [$]
  thousands_separator: ","
"""


def single_cohort_18_months(landing: Path, n_customers: int = 400) -> list[Order]:
    orders = simulate_orders(n_customers, date(2024, 7, 1), 548, seed=18, acquisition_days=30)
    lines = ["customer_id,ordered_at,amount"]
    lines += [f'{o.customer},{o.day:%Y-%m-%d},"${o.amount * 40:,.2f}"' for o in orders]
    _write(landing / "orders.csv", "\n".join(lines) + "\n")
    _write(landing / "mapping.yaml", SINGLE_COHORT_MAPPING)
    return [Order(o.customer, o.day, o.units, round(o.amount * 40, 2)) for o in orders]


WRITERS: dict[str, Callable[[Path], list[Order]]] = {
    "cdnow_1990s": cdnow_1990s,
    "semicolon_eur": semicolon_eur,
    "headerless_pipe": headerless_pipe,
    "fixed_width": fixed_width,
    "utf16_bom": utf16_bom,
    "single_cohort_18_months": single_cohort_18_months,
}
