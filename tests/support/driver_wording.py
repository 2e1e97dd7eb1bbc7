"""Does a churn driver read as a reason to worry? Checked from the words alone.

Independent of ml/prediction/drivers.py on purpose: every wording the product may show has a
pattern here with the direction its numbers must have (the customer's value on the churn side
of the typical one, or of their own earlier pace). A driver matching no pattern, or whose
numbers point the other way ("spent 2,087 in the last year (typical: 357)"), is a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable

NUMBER = r"(-?[\d,]+(?:\.\d+)?)"


def _value(text: str) -> float:
    return float(text.replace(",", ""))


def _count(text: str) -> float:
    """'no sessions' -> 0, 'only 1 session' -> 1, 'only 3 sessions' -> 3."""
    return 0.0 if text == "no" else _value(text)


COUNT = r"(no|only [\d,]+)"

# pattern -> check(groups) that the numbers point towards churn.
PATTERNS: list[tuple[re.Pattern[str], Callable[[tuple[str, ...]], bool]]] = [
    (
        re.compile(rf"^no order for {NUMBER} days?, usually every {NUMBER}$"),
        lambda g: _value(g[0]) > _value(g[1]),
    ),
    (
        re.compile(rf"^no order for {NUMBER} days? \(typical customer: {NUMBER}\)$"),
        lambda g: _value(g[0]) > _value(g[1]),
    ),
    (
        re.compile(
            rf"^{COUNT} orders? in the last 90 days, down from {NUMBER} per 90 days before$"
        ),
        lambda g: _count(g[0].removeprefix("only ")) < _value(g[1]),
    ),
    (
        re.compile(rf"^{COUNT} orders? in the last year \(typical: {NUMBER}\)$"),
        lambda g: _count(g[0].removeprefix("only ")) < _value(g[1]),
    ),
    (
        re.compile(
            rf"^spend fell to {NUMBER} in the last 90 days from {NUMBER} per 90 days before$"
        ),
        lambda g: _value(g[0]) < _value(g[1]),
    ),
    (
        re.compile(rf"^spent only {NUMBER} in the last year \(typical: {NUMBER}\)$"),
        lambda g: _value(g[0]) < _value(g[1]),
    ),
    (
        re.compile(rf"^orders only every {NUMBER} days \(typical: {NUMBER}\)$"),
        lambda g: _value(g[0]) > _value(g[1]),
    ),
    (
        re.compile(rf"^no repeat order yet \(typical customer: {NUMBER} orders\)$"),
        lambda g: _value(g[0]) > 1,
    ),
    (
        re.compile(rf"^customer for only {NUMBER} days \(typical: {NUMBER}\)$"),
        lambda g: _value(g[0]) < _value(g[1]),
    ),
    (
        re.compile(rf"^no site visit for {NUMBER} days \(typical: {NUMBER}\)$"),
        lambda g: _value(g[0]) > _value(g[1]),
    ),
    (
        re.compile(rf"^{COUNT} sessions? in the last 30 days \(typical: {NUMBER}\)$"),
        lambda g: _count(g[0].removeprefix("only ")) < _value(g[1]),
    ),
    (
        re.compile(rf"^site activity down {NUMBER}% on the previous 30 days$"),
        lambda g: _value(g[0]) > 0,
    ),
    (
        re.compile(rf"^opened no e-mails in 90 days \(typical: {NUMBER}%\)$"),
        lambda g: _value(g[0]) > 0,
    ),
    (
        re.compile(rf"^opened only {NUMBER}% of e-mails in 90 days \(typical: {NUMBER}%\)$"),
        lambda g: _value(g[0]) < _value(g[1]),
    ),
    (
        re.compile(rf"^{NUMBER} support tickets? in 90 days \(typical: {NUMBER}\)$"),
        lambda g: _value(g[0]) > _value(g[1]),
    ),
    (
        re.compile(rf"^abandoned {NUMBER}% of carts in 90 days \(typical: {NUMBER}%\)$"),
        lambda g: _value(g[0]) > _value(g[1]),
    ),
    (
        re.compile(
            rf"^{NUMBER} cancelled and {NUMBER} refunded orders \(typical: {NUMBER} and {NUMBER}\)$"
        ),
        lambda g: _value(g[0]) + _value(g[1]) > _value(g[2]) + _value(g[3]),
    ),
    (
        re.compile(
            rf"^low RFM scores {NUMBER}/{NUMBER}/{NUMBER} \(typical: {NUMBER}/{NUMBER}/{NUMBER}\)$"
        ),
        lambda g: sum(map(_value, g[:3])) < sum(map(_value, g[3:])),
    ),
]


def reads_as_churn_reason(text: str) -> bool:
    """True when `text` matches a known wording and its numbers point towards churn."""
    for pattern, towards_churn in PATTERNS:
        match = pattern.match(text)
        if match:
            return bool(towards_churn(match.groups()))
    return False
