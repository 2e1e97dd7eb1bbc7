"""A suggested mapping.yaml entry for a file, guessed from its first lines.

The guesses: layout from ingest/sniff.py, contract columns from the header's names (common
synonyms in English and German) or, without a header, from what the values look like, the date
format that reads every sampled date, and the decimal/thousands/currency conventions of the
amounts. Only keys that differ from the defaults are written.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from ingest.contract import Entity
from ingest.mapping import EntityMapping
from ingest.sniff import read_head, sniff_layout, split_line

# Contract column -> header names (lower case, letters and digits only) that mean it.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customerid",
        "customer",
        "custid",
        "cust",
        "customerno",
        "customernumber",
        "client",
        "clientid",
        "user",
        "userid",
        "member",
        "memberid",
        "buyer",
        "account",
        "accountid",
        "kunde",
        "kundennr",
        "kundenid",
        "kundennummer",
    ),
    "order_id": (
        "orderid",
        "order",
        "orderno",
        "ordernumber",
        "invoice",
        "invoiceid",
        "invoiceno",
        "transactionid",
        "receipt",
        "bestellnr",
        "bestellung",
        "rechnungsnr",
    ),
    "ordered_at": (
        "orderedat",
        "date",
        "orderdate",
        "ordered",
        "time",
        "timestamp",
        "datetime",
        "purchasedate",
        "transactiondate",
        "invoicedate",
        "created",
        "createdat",
        "datum",
    ),
    "amount": (
        "amount",
        "value",
        "total",
        "revenue",
        "sales",
        "dollarvalue",
        "ordervalue",
        "sum",
        "net",
        "gross",
        "price",
        "betrag",
        "umsatz",
        "wert",
        "summe",
    ),
    "status": ("status", "state", "orderstatus", "zustand"),
    "signup_at": ("signupat", "signup", "signupdate", "registered", "created", "createdat"),
    "occurred_at": ("occurredat", "date", "time", "timestamp", "datetime", "eventtime"),
    "event_type": ("eventtype", "event", "type", "action"),
    "product_id": ("productid", "product", "sku", "item", "itemid", "artikel"),
    "quantity": ("quantity", "qty", "units", "count", "anzahl", "menge"),
    "unit_price": ("unitprice", "price", "preis"),
}
DATE_FORMATS = (
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d.%m.%y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%Y%m%d%H%M%S",
)
_CURRENCY = re.compile(r"^\s*([^\d\s.,+-]+)?\s*([-+]?[\d.,' ]*\d)\s*([^\d\s.,]+)?\s*$")
_PLAIN_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")


def _fold(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def suggest_entity_mapping(landing_dir: Path, path: Path, current: EntityMapping) -> dict[str, Any]:
    entity = current.entity
    suggestion: dict[str, Any] = {"files": str(path.relative_to(landing_dir))}
    if path.suffix.lower() == ".parquet":
        names = [
            row[0]
            for row in duckdb.execute(
                "select name from parquet_schema(?) where name <> 'schema'", [str(path)]
            ).fetchall()
        ]
        samples = {n: [] for n in names}
        header = True
    else:
        layout = sniff_layout(path)
        if layout.encoding not in ("utf-8",):
            suggestion["encoding"] = layout.encoding
        if layout.delimiter is None:
            suggestion["note"] = "no delimiter splits the lines evenly: fixed-width? set widths"
            return suggestion
        if layout.delimiter != ",":
            suggestion["delimiter"] = layout.delimiter
        header = layout.header
        if not header:
            suggestion["header"] = False
        _, lines = read_head(path, layout.encoding)
        rows = [split_line(line, layout.delimiter) for line in lines]
        names = (
            [n.strip() for n in rows[0]]
            if header
            else [f"column_{i}" for i in range(1, layout.fields + 1)]
        )
        data = rows[1:] if header else rows
        samples = {
            n: [r[i].strip() for r in data if i < len(r) and r[i].strip()]
            for i, n in enumerate(names)
        }
    columns = _guess_columns(entity, names, samples)
    if columns:
        suggestion["columns"] = {
            contract: (names.index(source) + 1 if not header else source)
            for contract, source in columns.items()
            if not (header and source == contract)
        } or None
        if suggestion["columns"] is None:
            del suggestion["columns"]
    for contract in entity.timestamp_columns:
        if contract in columns:
            fmt = _date_format(samples.get(columns[contract], []))
            if fmt:
                suggestion["date_format"] = fmt
    for contract in ("amount", "unit_price"):
        if contract in columns:
            suggestion.update(_amount_format(samples.get(columns[contract], [])))
    if current.merge_same_time_rows:
        suggestion["merge_same_time_rows"] = True
    if current.status_values:
        suggestion["status_values"] = dict(current.status_values)
    return suggestion


def _guess_columns(
    entity: Entity, names: list[str], samples: dict[str, list[str]]
) -> dict[str, str]:
    folded = {_fold(n): n for n in names}
    chosen: dict[str, str] = {}
    for contract in entity.columns:
        for synonym in (_fold(contract), *SYNONYMS.get(contract, ())):
            source = folded.get(synonym)
            if source is not None and source not in chosen.values():
                chosen[contract] = source
                break
    # Without telling names: dates, then amounts, then the first id-like column by its values.
    free = [n for n in names if n not in chosen.values() and samples.get(n)]
    for contract in entity.timestamp_columns:
        if contract not in chosen:
            for name in free:
                if _looks_like_dates(samples[name]):
                    chosen[contract] = name
                    free.remove(name)
                    break
    if "amount" in entity.columns and "amount" not in chosen:
        for name in free:
            if all(_amount_text(v) and "." in _amount_text(v) for v in samples[name][:20]):
                chosen["amount"] = name
                free.remove(name)
                break
    if "customer_id" in entity.columns and "customer_id" not in chosen and free:
        chosen["customer_id"] = free[0]
    return chosen


def _looks_like_dates(values: list[str]) -> bool:
    sample = values[:20]
    return bool(sample) and (all(_iso(v) for v in sample) or _date_format(sample) is not None)


def _iso(value: str) -> bool:
    if re.fullmatch(r"(19|20)\d{6}", value):
        return _parses(value, "%Y%m%d")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return bool(re.match(r"\d{4}-\d{2}-\d{2}", value))


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _date_format(values: list[str]) -> str | None:
    """None when the values are ISO (or YYYYMMDD) already, else the first format that reads
    every one of them."""
    if not values or all(_iso(v) for v in values):
        return None
    for fmt in DATE_FORMATS:
        if all(_parses(v, fmt) for v in values):
            return fmt
    return None


def _amount_text(value: str) -> str | None:
    match = _CURRENCY.match(value)
    return match.group(2) if match else None


def _amount_format(values: list[str]) -> dict[str, Any]:
    if not values or all(_PLAIN_NUMBER.match(v) for v in values):
        return {}
    symbols: set[str] = set()
    numbers: list[str] = []
    for value in values:
        match = _CURRENCY.match(value)
        if not match:
            continue
        symbols |= {s for s in (match.group(1), match.group(3)) if s}
        numbers.append(match.group(2))
    keys: dict[str, Any] = {}
    if symbols:
        keys["currency_symbols"] = sorted(symbols)
    decimal_comma = any(re.search(r",\d{1,2}$", n) for n in numbers) and not any(
        re.search(r"\.\d{1,2}$", n) for n in numbers
    )
    if decimal_comma:
        keys["decimal_separator"] = ","
        if any(" " in n for n in numbers):
            keys["thousands_separator"] = " "
    elif any("," in n for n in numbers):
        keys["thousands_separator"] = ","
    elif any("'" in n for n in numbers):
        keys["thousands_separator"] = "'"
    return keys
