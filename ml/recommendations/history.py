"""What each customer bought before a cutoff, as a sparse customer x category matrix."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

# Dense blocks of this many customer-category cells at most while scoring (memory stays flat
# for large customer bases and catalogues).
BLOCK_CELLS = 2_000_000


@dataclass
class HistoryBlock:
    """A block of customers: row positions, their affinity weights and what they bought."""

    rows: slice
    weights: np.ndarray  # customers x categories, the customer's strongest category = 1
    bought: np.ndarray  # customers x categories, bool


class PurchaseHistory:
    """Customer x category affinities from `customer_category_affinity`-shaped rows
    (customer_id, category, affinity). Customers and categories are sorted, so every result
    built on it comes out in the same order for the same input."""

    def __init__(self, purchases: pd.DataFrame) -> None:
        rows = purchases[["customer_id", "category", "affinity"]].dropna(subset=["category"])
        self.customers = pd.Index(sorted(rows["customer_id"].unique()), name="customer_id")
        self.categories = pd.Index(sorted(rows["category"].unique()), name="category")
        # A customer's favourite category weighs 1, the others their affinity relative to it.
        top = rows.groupby("customer_id")["affinity"].transform("max")
        weight = np.where(top > 0, rows["affinity"] / top.where(top > 0, 1.0), 1.0)
        cells = (
            self.customers.get_indexer(rows["customer_id"]),
            self.categories.get_indexer(rows["category"]),
        )
        shape = (len(self.customers), len(self.categories))
        self.weights = sparse.csr_matrix((weight.astype(float), cells), shape=shape)
        self.bought = sparse.csr_matrix((np.ones(len(rows)), cells), shape=shape)

    def __len__(self) -> int:
        return len(self.customers)

    def buyer_share(self) -> np.ndarray:
        """Share of the customers in the history who bought each category."""
        if len(self) == 0:
            return np.zeros(len(self.categories))
        return np.asarray(self.bought.sum(axis=0)).ravel() / len(self)

    def blocks(self) -> Iterator[HistoryBlock]:
        size = max(1, BLOCK_CELLS // max(1, len(self.categories)))
        for start in range(0, len(self), size):
            rows = slice(start, min(start + size, len(self)))
            yield HistoryBlock(
                rows=rows,
                weights=self.weights[rows].toarray(),
                bought=self.bought[rows].toarray() > 0,
            )
