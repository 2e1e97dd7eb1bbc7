"""One local SparkSession for the whole test session (starting one takes 20-30 s).

Import the fixture into a test module: `from tests.support.spark import spark_session`.
Tests that need it skip, saying why, on a machine without Java.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def java_missing() -> str | None:
    """Why Spark cannot start here, or None."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.path.exists(os.path.join(java_home, "bin", "java")):
        return None
    if shutil.which("java"):
        return None
    return "Spark needs Java (no `java` on PATH and no JAVA_HOME): install a JDK 17 or 21"


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """local[2], 4 shuffle partitions, warehouse and Derby metastore in a temp folder."""
    reason = java_missing()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    from engines.spark_engine import build_session

    root = tmp_path_factory.mktemp("spark")
    spark = build_session("local[2]", root / "warehouse", shuffle_partitions=4)
    spark.sparkContext.setLogLevel("ERROR")
    yield spark
    spark.stop()
