"""Load landing files into Spark tables ``raw.<entity>``, as ingest/landing.py does for DuckDB.

The same columns, types and values as the DuckDB loader writes: the contract columns as text
translated by the mapping (ISO dates, plain decimals, contract statuses; a value the mapping
cannot translate stays as written), ``_source_file`` (the file's name), ``_source_row`` (its
line, a header being line 1) and ``_batch``; ``raw.<entity>_rejects`` for lines the parser
cannot split into the file's columns and ``raw.<entity>_load`` with the counts, so the dbt
staging and quarantine models apply the same rules on either engine.

Files are read by Spark's own readers (CSV and Parquet), and rows are numbered by Spark
(`zipWithIndex` over the file's partitions, in file order), never on the driver. Layouts
Spark's CSV reader cannot split (whitespace-aligned, multi-character delimiters, fixed width)
are read as text lines and split with Spark SQL. Only a file's first lines (the delimiter
sniff, a header) are read in this process.

Not yet on Spark (a clear error, or a full reload): the erasure list (suppression), incremental
appends of new files only; every load reloads all files.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.contract import ENTITIES, Entity
from ingest.landing import (
    RAW_SCHEMA,
    LandingError,
    LoadReport,
    Suppression,
    _check_columns,
    _headerless_names,
    _Scan,
    _sql_str,
    detect_format,
    header_names,
    no_file_error,
    resolve_files,
    text_delimiter,
    text_encoding,
    translate_text,
)
from ingest.mapping import MAPPING_FILE_NAME, WHITESPACE, EntityMapping, LandingMapping
from ingest.sniff import read_head, sniff_delimiter

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

REJECT_COLUMNS = "_source_file string, _source_row bigint, raw_line string, "
REJECT_COLUMNS += "error_type string, error_message string"
_CORRUPT = "_corrupt_record"


@dataclass
class _SparkScan:
    path: Path
    alias: str
    rows: DataFrame  # the file's columns + _source_row
    columns: dict[str, str]  # column -> Spark type name (string, bigint, double ...)
    rejects: DataFrame | None  # REJECT_COLUMNS

    def __post_init__(self) -> None:
        self.rows = self.rows.cache()
        self.rejects = self.rejects.cache() if self.rejects is not None else None

    def rows_count(self) -> int:
        return self.rows.count()

    def rejects_count(self) -> int:
        return self.rejects.count() if self.rejects is not None else 0

    def unpersist(self) -> None:
        self.rows.unpersist()
        if self.rejects is not None:
            self.rejects.unpersist()

    def as_scan(self) -> _Scan:
        """The DuckDB loader's view of the scan, for its column matching and messages."""
        return _Scan(self.path, self.alias, self.columns, rejects_table=None)


def load_entity_spark(
    spark: SparkSession,
    landing_dir: Path,
    mapping: LandingMapping,
    entity_name: str,
    suppression: Suppression | None = None,
) -> LoadReport:
    """Replace ``raw.<entity>``, ``raw.<entity>_rejects`` and ``raw.<entity>_load`` in Spark's
    catalog with the landing files of one entity. Errors name the file and the mapping key."""
    entity = ENTITIES[entity_name]
    entity_mapping = mapping[entity_name]
    if suppression is not None and not suppression.empty:
        raise LandingError(
            f"{entity_name}: the erasure list (privacy/) is not applied by the Spark loader yet; "
            "run this refresh with INSIGHTS_ENGINE=duckdb so erased customers stay out"
        )
    report = LoadReport(entity=entity_name)
    landing_dir = Path(landing_dir)
    files = resolve_files(landing_dir, entity_mapping)
    spark.sql(f"create database if not exists {RAW_SCHEMA}")
    batch = _next_batch(spark, entity)
    if not files:
        if entity.required:
            raise no_file_error(entity_mapping, landing_dir)
        _write_empty(spark, entity)
        report.notes.append(f"no {entity_name} file in {landing_dir}: table left empty")
        _write_load_log(spark, entity, report)
        return report

    report.files = [str(f) for f in files]
    report.file_format = detect_format(files, entity_mapping)
    report.files_read = len(files)
    scans = [
        _scan_file(spark, f, report.file_format, entity_mapping, index)
        for index, f in enumerate(files)
    ]
    scans = [s for s in scans if s is not None]
    try:
        return _load_scans(spark, entity, entity_mapping, files, scans, batch, report)
    finally:
        for scan in scans:
            scan.unpersist()


def _load_scans(
    spark: SparkSession,
    entity: Entity,
    entity_mapping: EntityMapping,
    files: list[Path],
    scans: list[_SparkScan],
    batch: int,
    report: LoadReport,
) -> LoadReport:
    entity_name = entity.name
    # Each file is read once: the counts, the rows and the rejects come from the cached scan.
    rows_parsed = sum(s.rows_count() for s in scans)
    rejected = sum(s.rejects_count() for s in scans)
    if entity.required and rows_parsed + rejected == 0:
        raise LandingError(
            f"{entity_name}: {', '.join(f.name for f in files)} in {files[0].parent} hold no data "
            "row (empty or header only); a required file must not be empty. The tables keep "
            "the previous load; put the complete file back and run again"
        )
    if not scans:
        _write_empty(spark, entity)
        report.notes.append("every file is empty: table left empty")
        _write_load_log(spark, entity, report)
        return report

    present = _check_columns([s.as_scan() for s in scans], entity_mapping, report)
    mapped = [_mapped(scan, entity, entity_mapping, present[scan.alias]) for scan in scans]
    body = mapped[0]
    for more in mapped[1:]:
        body = body.unionByName(more, allowMissingColumns=True)
    if (
        entity_name == "orders"
        and "order_id" not in entity_mapping.columns
        and not any("order_id" in present[s.alias] for s in scans)
    ):
        report.derived_order_id = True
        if entity_mapping.merge_same_time_rows:
            body = _merged_same_time_rows(body, rows_parsed, report)
        body = _with_derived_order_id(body)
    elif entity_mapping.merge_same_time_rows:
        report.notes.append("merge_same_time_rows ignored: the files carry order ids")

    from pyspark.sql import functions as F

    table = f"{RAW_SCHEMA}.{entity.raw_table}"
    body.withColumn("_batch", F.lit(batch).cast("bigint")).write.mode("overwrite").saveAsTable(
        table
    )
    report.rows_loaded = rows_parsed - report.rows_merged
    rejects = [s.rejects for s in scans if s.rejects is not None]
    all_rejects = rejects[0] if rejects else spark.createDataFrame([], REJECT_COLUMNS)
    for more in rejects[1:]:
        all_rejects = all_rejects.unionByName(more)
    all_rejects.write.mode("overwrite").saveAsTable(f"{table}_rejects")
    report.rows_rejected = rejected
    if report.rows_rejected and report.rows_rejected >= report.rows_read / 2:
        report.notes.append(
            f"{report.rows_rejected} of {report.rows_read} lines could not be split into the "
            f"file's columns; check `{entity_name}.delimiter` in {MAPPING_FILE_NAME}"
        )
    _write_load_log(spark, entity, report)
    return report


def _scan_file(
    spark: SparkSession, path: Path, file_format: str, mapping: EntityMapping, index: int
) -> _SparkScan | None:
    alias = f"_scan_{mapping.entity.name}_{index}"
    if file_format == "parquet":
        return _scan_parquet(spark, path, alias)
    if path.stat().st_size == 0:
        return None
    encoding = text_encoding(path, mapping)
    delimiter = text_delimiter(path, mapping, encoding)
    encoding = spark_charset(encoding, path)
    if mapping.widths or (
        delimiter is not None and (delimiter == WHITESPACE or len(delimiter) > 1)
    ):
        return _scan_lines(spark, path, mapping, alias, encoding, delimiter)
    if delimiter is None:
        # DuckDB's loader lets its sniffer choose; the project's sniffer stands in for it.
        delimiter = sniff_delimiter(read_head(path, encoding)[1])[0] or ","
        if delimiter == WHITESPACE or len(delimiter) > 1:
            return _scan_lines(spark, path, mapping, alias, encoding, delimiter)
    return _scan_csv(spark, path, mapping, alias, encoding, delimiter)


def _scan_parquet(spark: SparkSession, path: Path, alias: str) -> _SparkScan:
    from pyspark.sql import functions as F

    try:
        frame = spark.read.parquet(str(path))
        # Parquet's own row index (Spark >= 3.5), counted from 1 as DuckDB's file_row_number.
        rows = frame.select("*", (F.col("_metadata.row_index") + 1).alias("_source_row"))
        columns = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
    except Exception as exc:
        raise LandingError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from exc
    return _SparkScan(path, alias, rows, columns, rejects=None)


# Python's codec name -> the charset names Spark 4's readers accept.
_SPARK_CHARSETS = {
    "utf-8": "utf-8",
    "utf-16": "utf-16",
    "utf-16-be": "utf-16be",
    "utf-16-le": "utf-16le",
    "utf-32": "utf-32",
    "iso8859-1": "iso-8859-1",
    "ascii": "us-ascii",
}


def spark_charset(encoding: str, path: Path) -> str:
    """mapping.yaml's encoding (latin-1, utf-16, ...) as Spark names it."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = encoding
    if name not in _SPARK_CHARSETS:
        raise LandingError(
            f"{path}: encoding {encoding!r} (mapping.yaml `encoding`) cannot be read by Spark; "
            f"Spark reads {', '.join(sorted(set(_SPARK_CHARSETS.values())))}: convert the file "
            "or run with INSIGHTS_ENGINE=duckdb"
        )
    return _SPARK_CHARSETS[name]


def _csv_reader(spark: SparkSession, encoding: str, delimiter: str, header: bool):
    return (
        spark.read.option("sep", delimiter)
        .option("header", str(header).lower())
        .option("encoding", encoding)
        .option("quote", '"')
        .option("escape", '"')
        # Spark splits lines on bytes: a UTF-16 file is decoded whole, in one task.
        .option("multiLine", str(encoding != "utf-8").lower())
    )


def _scan_csv(
    spark: SparkSession,
    path: Path,
    mapping: EntityMapping,
    alias: str,
    encoding: str,
    delimiter: str,
) -> _SparkScan | None:
    """Spark's CSV reader, PERMISSIVE: a line with more or fewer fields than the header keeps
    its text in the corrupt-record column and goes to the rejects."""
    from pyspark.sql import functions as F

    try:
        names = _csv_reader(spark, encoding, delimiter, mapping.header).csv(str(path)).columns
    except Exception as exc:
        raise LandingError(
            f"{path}: cannot be read as CSV ({_first_line(exc)}); check "
            f"`{mapping.entity.name}.delimiter`/`encoding`/`format` in {MAPPING_FILE_NAME}"
        ) from exc
    if not names:
        return None
    if mapping.header:
        names = [names[0].lstrip("\ufeff"), *names[1:]]  # a UTF-8 byte-order mark
    else:
        names = _headerless_names(path, mapping, len(names))
    schema = ", ".join(f"`{n}` string" for n in [*names, _CORRUPT])
    parsed = (
        _csv_reader(spark, encoding, delimiter, mapping.header)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", _CORRUPT)
        .option("enforceSchema", "true")
        .schema(schema)
        .csv(str(path))
    )
    numbered = _numbered(spark, parsed, first_line=2 if mapping.header else 1)
    rows = numbered.where(F.col(_CORRUPT).isNull()).drop(_CORRUPT)
    fields = F.size(F.split(F.col(_CORRUPT), _java_literal_regex(delimiter), -1))
    rejects = numbered.where(F.col(_CORRUPT).isNotNull()).select(
        F.lit(path.name).alias("_source_file"),
        F.col("_source_row"),
        F.col(_CORRUPT).alias("raw_line"),
        F.when(fields < len(names), "MISSING COLUMNS")
        .when(fields > len(names), "TOO MANY COLUMNS")
        .otherwise("INVALID CSV LINE")
        .alias("error_type"),
        F.concat(F.lit(f"expected {len(names)} fields, found "), fields.cast("string")).alias(
            "error_message"
        ),
    )
    return _SparkScan(path, alias, rows, dict.fromkeys(names, "string"), rejects)


def _numbered(spark: SparkSession, frame: DataFrame, first_line: int) -> DataFrame:
    """`frame` with `_source_row`: its position in the file (partitions are read in file
    order, so zipWithIndex numbers records as they stand) plus the first data line."""
    from pyspark.sql.types import LongType, StructField, StructType

    schema = StructType([*frame.schema.fields, StructField("_source_row", LongType(), False)])
    indexed = frame.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1] + first_line))
    return spark.createDataFrame(indexed, schema)


def _scan_lines(
    spark: SparkSession,
    path: Path,
    mapping: EntityMapping,
    alias: str,
    encoding: str,
    delimiter: str | None,
) -> _SparkScan | None:
    """One row per line, split with Spark SQL; lines with the wrong number of fields go to
    the rejects with their line number, as in the DuckDB loader."""
    from pyspark.sql import functions as F

    if encoding == "utf-8":
        text = spark.read.text(str(path))
    else:  # the text reader is UTF-8 only: a CSV read that never splits decodes the rest
        text = (
            _csv_reader(spark, encoding, "\x01", header=False)
            .option("quote", "\u0000")
            .schema("value string")
            .csv(str(path))
        )
    lines = _numbered(spark, text.withColumnRenamed("value", "line"), 1).withColumnRenamed(
        "_source_row", "_line"
    )
    lines = lines.where("line is not null and trim(both ' \\t\\r' from line) != ''")
    split = _split_sql(mapping, delimiter, "line")
    header_line = 0
    if mapping.header:
        first = lines.orderBy("_line").select("_line", "line").first()
        if first is None:
            return None
        header_line, header_text = int(first["_line"]), str(first["line"])
        if header_line == 1:
            header_text = header_text.lstrip("\ufeff")
        names = header_names(mapping, delimiter, header_text, path)
    elif mapping.column_names:
        names = list(mapping.column_names)
    elif mapping.widths:
        names = [f"column_{i}" for i in range(1, len(mapping.widths) + 1)]
    else:
        modal = lines.selectExpr(f"mode(size({split})) as n").first()
        names = [f"column_{i}" for i in range(1, ((modal and modal["n"]) or 1) + 1)]
    count = len(names)
    body = lines.where(F.col("_line") > header_line).selectExpr(
        "_line", "line", f"{split} as fields"
    )
    rows = body.where(F.size("fields") == count).select(
        *[F.element_at("fields", i + 1).alias(n) for i, n in enumerate(names)],
        F.col("_line").alias("_source_row"),
    )
    rejects = body.where(F.size("fields") != count).select(
        F.lit(path.name).alias("_source_file"),
        F.col("_line").alias("_source_row"),
        F.col("line").alias("raw_line"),
        F.when(F.size("fields") < count, "MISSING COLUMNS")
        .otherwise("TOO MANY COLUMNS")
        .alias("error_type"),
        F.concat(F.lit(f"expected {count} fields, found "), F.size("fields").cast("string")).alias(
            "error_message"
        ),
    )
    return _SparkScan(path, alias, rows, dict.fromkeys(names, "string"), rejects)


def _split_sql(mapping: EntityMapping, delimiter: str | None, line: str) -> str:
    """Spark SQL for the array of a line's fields (surrounding quotes removed); the DuckDB
    loader's _split_sql in Spark's dialect."""
    text = f"regexp_replace({line}, '\\r$', '')"
    if mapping.widths:
        starts = [1 + sum(mapping.widths[:i]) for i in range(len(mapping.widths))]
        parts = [
            f"substring({text}, {s}, {w})" for s, w in zip(starts, mapping.widths, strict=True)
        ]
        parts[-1] = f"substring({text}, {starts[-1]})"  # the last field runs to the line's end
        fields = f"array({', '.join(parts)})"
    elif delimiter == WHITESPACE:
        fields = f"split(trim(both ' \\t' from {text}), '[ \\\\t]+', -1)"
    else:
        # Spark unescapes backslashes in SQL literals: double them to reach the regex.
        regex = _java_literal_regex(str(delimiter)).replace("\\", "\\\\")
        fields = f"split({text}, {_sql_str(regex)}, -1)"
    return f"transform({fields}, f -> regexp_replace(trim(f), '^\"(.*)\"$', '$1'))"


def _java_literal_regex(text: str) -> str:
    """A Java regex matching `text` literally (Spark's split takes a regex)."""
    return "".join(c if c.isalnum() else "\\" + c if c.isascii() else c for c in text)


def _mapped(
    scan: _SparkScan, entity: Entity, mapping: EntityMapping, matched: dict[str, str]
) -> DataFrame:
    """The scan on the contract: the DuckDB loader's _mapped_select in Spark SQL."""
    expressions = []
    for column in entity.columns:
        source = matched.get(column)
        if source is None:
            expressions.append(f"cast(null as string) as {column}")
            continue
        expr = f"`{source}`"
        dtype = scan.columns[source]
        if column in entity.timestamp_columns and dtype in _INTEGER_TYPES:
            expr, dtype = f"cast({expr} as string)", "string"  # 19970101 as a number
        if dtype == "string":
            expr = translate_text_spark(column, f"nullif(trim({expr}), '')", mapping)
        expressions.append(f"{expr} as {column}")
    expressions.append(f"{_sql_str(scan.path.name)} as _source_file")
    expressions.append("cast(_source_row as bigint) as _source_row")
    return scan.rows.selectExpr(*expressions)


_INTEGER_TYPES = ("tinyint", "smallint", "int", "bigint")


def translate_text_spark(column: str, expr: str, mapping: EntityMapping) -> str:
    """ingest.landing.translate_text with Spark's date parsing (amounts and statuses are the
    same SQL on both engines); untranslatable values kept."""
    return translate_text(column, expr, mapping, timestamp_text=_spark_timestamp_text)


def _spark_timestamp_text(expr: str, mapping: EntityMapping) -> str:
    if mapping.date_format:
        pattern = _sql_str(java_datetime_pattern(mapping.date_format))
        return (
            f"coalesce(date_format(try_to_timestamp({expr}, {pattern}), "
            f"'yyyy-MM-dd HH:mm:ss'), {expr})"
        )
    return (
        f"case when {expr} rlike '^[0-9]{{8}}$' then coalesce(date_format("
        f"try_to_timestamp({expr}, 'yyyyMMdd'), 'yyyy-MM-dd'), {expr}) else {expr} end"
    )


# strptime directives (mapping.yaml's date_format) -> Java DateTimeFormatter letters. A field
# followed by a separator takes the single letter, which parses one or two digits as DuckDB's
# strptime does (5.3.2023); fields run together (%Y%m%d) take fixed widths.
_DIRECTIVES = {
    "Y": ("yyyy", "yyyy"),
    "y": ("yy", "yy"),
    "m": ("M", "MM"),
    "d": ("d", "dd"),
    "H": ("H", "HH"),
    "I": ("h", "hh"),
    "M": ("m", "mm"),
    "S": ("s", "ss"),
    "f": ("SSSSSS", "SSSSSS"),
    "p": ("a", "a"),
    "b": ("MMM", "MMM"),
    "B": ("MMMM", "MMMM"),
    "a": ("EEE", "EEE"),
    "A": ("EEEE", "EEEE"),
    "j": ("D", "DDD"),
    "z": ("Z", "Z"),
}


def java_datetime_pattern(strptime_format: str) -> str:
    """The Spark (Java) datetime pattern for a strptime format such as %d.%m.%Y."""
    tokens = re.findall(r"%.|[^%]+", strptime_format)
    out = []
    for i, token in enumerate(tokens):
        if token.startswith("%"):
            code = token[1]
            if code == "%":
                out.append("'%'")
                continue
            if code not in _DIRECTIVES:
                raise LandingError(
                    f"date_format {strptime_format!r} in {MAPPING_FILE_NAME}: %{code} has no "
                    "Spark equivalent; use %Y %m %d %H %M %S (and %y %b %B %I %p %f %j %z)"
                )
            run_together = any(
                0 <= j < len(tokens) and tokens[j].startswith("%") for j in (i - 1, i + 1)
            )
            out.append(_DIRECTIVES[code][1 if run_together else 0])
        else:
            literal = token.replace("'", "''")
            out.append(f"'{literal}'" if re.search(r"[A-Za-z']", token) else literal)
    return "".join(out)


def _merged_same_time_rows(body: DataFrame, rows: int, report: LoadReport) -> DataFrame:
    """ingest.landing._merged_same_time_rows in Spark: rows of one customer at one time (and
    status) become one order, amounts summed; unusable rows stay apart; the first row in file
    order stands for the merged order."""
    from pyspark.sql import functions as F

    flagged = body.withColumn("_amount", F.expr("try_cast(amount as double)")).withColumn(
        "_mergeable",
        F.expr(
            "customer_id is not null and try_cast(ordered_at as timestamp) is not null "
            "and try_cast(amount as double) is not null"
        ),
    )
    apart = flagged.where(~F.col("_mergeable")).drop("_amount", "_mergeable")
    merged = (
        flagged.where(F.col("_mergeable"))
        .groupBy("customer_id", "ordered_at", "status")
        .agg(
            F.round(F.sum("_amount"), 6).alias("_total"),
            F.min(F.struct("_source_file", "_source_row")).alias("_first"),
        )
        .select(
            F.lit(None).cast("string").alias("order_id"),
            "customer_id",
            "ordered_at",
            "status",
            _double_text(F.col("_total")).alias("amount"),
            F.col("_first._source_file").alias("_source_file"),
            F.col("_first._source_row").alias("_source_row"),
        )
    )
    result = apart.unionByName(merged)
    report.rows_merged = rows - result.count()
    report.notes.append(
        f"merge_same_time_rows: {report.rows_merged} row(s) merged into orders at the same "
        "customer and time"
    )
    return result


def _double_text(column):
    """A double as DuckDB's cast to varchar writes it (shortest round-trip: 100.0, 1e-05),
    which Spark's Java formatting does not (1.0E-5); Python's repr matches DuckDB's."""
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    def as_text(values: pd.Series) -> pd.Series:
        return values.map(lambda v: None if pd.isna(v) else repr(float(v))).astype(object)

    # Real types, not the postponed strings: pandas_udf reads the hints to pick its kind.
    as_text.__annotations__ = {"values": pd.Series, "return": pd.Series}
    return pandas_udf(as_text, "string")(column)


def _with_derived_order_id(body: DataFrame) -> DataFrame:
    """ingest.landing._with_derived_order_id in Spark SQL: an id from customer, time, amount
    and the repeat count of identical rows in file order."""
    from pyspark.sql import functions as F

    return body.withColumn(
        "order_id",
        F.expr(
            "concat('D', left(md5(concat_ws('|', customer_id, ordered_at, cast(amount as string),"
            " cast(row_number() over (partition by customer_id, ordered_at, amount"
            " order by _source_file, _source_row) as string))), 16))"
        ),
    )


def _next_batch(spark: SparkSession, entity: Entity) -> int:
    """A batch number no earlier load used (raw.load_batches, as in the DuckDB loader)."""
    table = f"{RAW_SCHEMA}.load_batches"
    spark.sql(
        f"create table if not exists {table} "
        "(batch bigint, entity string, started_at timestamp) using parquet"
    )
    latest = spark.sql(f"select coalesce(max(batch), 0) as b from {table}").first()["b"]
    spark.sql(f"insert into {table} select {int(latest) + 1}, {_sql_str(entity.name)}, now()")
    return int(latest) + 1


def _write_empty(spark: SparkSession, entity: Entity) -> None:
    table = f"{RAW_SCHEMA}.{entity.raw_table}"
    columns = ", ".join(f"{c} string" for c in entity.columns)
    schema = f"{columns}, _source_file string, _source_row bigint, _batch bigint"
    spark.createDataFrame([], schema).write.mode("overwrite").saveAsTable(table)
    spark.createDataFrame([], REJECT_COLUMNS).write.mode("overwrite").saveAsTable(
        f"{table}_rejects"
    )


def _write_load_log(spark: SparkSession, entity: Entity, report: LoadReport) -> None:
    """raw.<entity>_load: one row with what this load read, kept, rejected and dropped."""
    row = [
        (
            entity.name,
            len(report.files),
            report.rows_read,
            report.rows_loaded,
            report.rows_rejected,
            report.rows_suppressed,
            report.rows_merged,
            report.derived_order_id,
            report.mode,
        )
    ]
    schema = (
        "entity string, files int, rows_read bigint, rows_loaded bigint, rows_rejected bigint, "
        "rows_suppressed bigint, rows_merged bigint, derived_order_id boolean, load_mode string"
    )
    from pyspark.sql import functions as F

    log = spark.createDataFrame(row, schema).withColumn("loaded_at", F.current_timestamp())
    log.write.mode("overwrite").saveAsTable(f"{RAW_SCHEMA}.{entity.raw_table}_load")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
