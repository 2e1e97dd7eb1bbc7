"""How the suppression list compares customer ids, in Python and, identically, in DuckDB SQL.

An erased customer must stay erased when a source re-delivers their id written differently:
with surrounding whitespace, a zero-width space, full-width letters (U+FF23 for C) or, where ids
are case-insensitive (the default, INSIGHTS_CUSTOMER_IDS_CASE_INSENSITIVE), another case.
Each scheme below maps an id to the text that is salted and hashed:

- `id_trim`: surrounding whitespace removed (lists written before normalisation existed);
- `id_nfkc`: Unicode NFKC, format characters (zero-width space/joiners, BOM, soft hyphen,
  bidi marks: category Cf) removed, whitespace trimmed;
- `id_nfkc_casefold`: as `id_nfkc`, then case-folded.

Only matching uses these forms; the warehouse keeps ids as delivered. In SQL, ASCII ids (almost
all of them) are normalised with built-ins; other ids go through a Python function registered on
the connection (`register_id_functions`), so both sides run the same code.
"""

from __future__ import annotations

import os
import unicodedata

import duckdb

CASE_INSENSITIVE_ENV = "INSIGHTS_CUSTOMER_IDS_CASE_INSENSITIVE"
ID_SCHEMES = ("id_trim", "id_nfkc", "id_nfkc_casefold")
# What Python's str.strip() removes from an ASCII string.
_ASCII_WHITESPACE = (9, 10, 11, 12, 13, 28, 29, 30, 31, 32)


def ids_case_insensitive(environ: dict[str, str] | None = None) -> bool:
    """INSIGHTS_CUSTOMER_IDS_CASE_INSENSITIVE (default true): `c1` and `C1` are one customer
    for erasure. Set false only when the source system's ids are case-sensitive."""
    env = os.environ if environ is None else environ
    value = env.get(CASE_INSENSITIVE_ENV, "").strip().lower()
    if value in ("", "1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{CASE_INSENSITIVE_ENV}={value!r} is not true or false")


def current_id_scheme(environ: dict[str, str] | None = None) -> str:
    """The scheme new erasure requests are stored under."""
    return "id_nfkc_casefold" if ids_case_insensitive(environ) else "id_nfkc"


def normalise_id(value: object, scheme: str) -> str:
    text = str(value)
    if scheme == "id_trim":
        return text.strip()
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    if scheme == "id_nfkc_casefold":
        text = unicodedata.normalize("NFKC", text.casefold())
    elif scheme != "id_nfkc":
        raise ValueError(f"unknown id scheme {scheme!r}")
    return text.strip()


def normalise_id_sql(column: str, scheme: str) -> str:
    """SQL for `normalise_id(column, scheme)`; needs `register_id_functions(con)` first."""
    value = f"cast({column} as varchar)"
    whitespace = " || ".join(f"chr({code})" for code in _ASCII_WHITESPACE)
    ascii_form = f"trim({value}, {whitespace})"
    if scheme == "id_nfkc_casefold":
        ascii_form = f"lower({ascii_form})"
    # strlen counts bytes, length characters: equal only for ASCII text.
    return (
        f"(case when strlen({value}) = length({value}) then {ascii_form} "
        f"else {_udf_name(scheme)}({value}) end)"
    )


def register_id_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Make the Python normalisation callable from SQL on this connection (idempotent)."""
    existing = {
        name
        for (name,) in con.execute(
            "select function_name from duckdb_functions() where function_name like 'insights_%'"
        ).fetchall()
    }
    for scheme in ID_SCHEMES:
        name = _udf_name(scheme)
        if name not in existing:
            con.create_function(
                name, _normaliser(scheme), [duckdb.sqltype("VARCHAR")], duckdb.sqltype("VARCHAR")
            )


def _normaliser(scheme: str):  # -> Callable[[str], str]
    def normalise(value: str) -> str:
        return normalise_id(value, scheme)

    return normalise


def _udf_name(scheme: str) -> str:
    return f"insights_normalise_{scheme}"
