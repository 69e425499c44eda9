"""Mart equality: the pandas baseline's Parquet files against the pipeline's `marts` tables.

    python bench/compare.py --warehouse WH.duckdb --baseline DIR

Every mart of schema `marts` except `mart_widget_refresh` (refresh bookkeeping, not a
computation) must exist on both sides with the same columns and the same rows: both sides are
sorted by every non-float column, then compared column by column — integers and strings exactly,
floats within a relative 1e-9 (sums of doubles depend on summation order), NULL equals NULL,
dates and timestamps normalised to datetime64. On a mismatch it prints the first differing rows
of each mart and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# Not computations over the landed data the baseline re-implements: refresh bookkeeping, the
# semantic layer's calendar (models/semantic) and the organization-name lookup (marts/core).
EXCLUDED = {"mart_widget_refresh", "metricflow_time_spine", "dim_organizations"}
FLOAT_RTOL = 1e-9
SHOW_ROWS = 5


@dataclass
class MartComparison:
    mart: str
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_pipeline_marts(warehouse: Path) -> dict[str, pd.DataFrame]:
    import duckdb  # the pipeline side is read from its warehouse (read-only)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [
            n
            for (n,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' "
                "and table_type = 'BASE TABLE' order by table_name"
            ).fetchall()
            if n not in EXCLUDED
        ]
        return {n: con.execute(f'select * from marts."{n}"').df() for n in names}


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(df)))
    for column in df.columns:
        s = df[column].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(s) or (
            s.dtype == object
            and s.dropna().map(lambda v: hasattr(v, "isoformat")).all()
            and s.notna().any()
        ):
            s = pd.to_datetime(s).astype("datetime64[us]")
        elif pd.api.types.is_bool_dtype(s):
            s = s.astype("boolean")
        elif pd.api.types.is_integer_dtype(s):
            s = s.astype("Int64")
        elif pd.api.types.is_float_dtype(s):
            s = s.astype("float64")
        else:
            s = s.astype(object).where(s.notna(), None)
        out[column] = s
    return out


def _is_float(s: pd.Series) -> bool:
    return pd.api.types.is_float_dtype(s)


def compare_mart(name: str, pipeline: pd.DataFrame, baseline: pd.DataFrame) -> MartComparison:
    result = MartComparison(name, rows=len(pipeline))
    p_cols, b_cols = list(pipeline.columns), list(baseline.columns)
    if set(p_cols) != set(b_cols):
        result.problems.append(
            f"columns differ: only in pipeline {sorted(set(p_cols) - set(b_cols))}, "
            f"only in baseline {sorted(set(b_cols) - set(p_cols))}"
        )
        return result
    p, b = _normalise(pipeline[p_cols]), _normalise(baseline[p_cols])
    if len(p) != len(b):
        result.problems.append(f"row counts differ: pipeline {len(p)}, baseline {len(b)}")
    # sort by the exact columns (floats last, as tie-breakers only after rounding)
    keys = [c for c in p_cols if not _is_float(p[c])]
    floats = [c for c in p_cols if _is_float(p[c])]

    def ordered(df: pd.DataFrame) -> pd.DataFrame:
        helper = df.copy()
        for c in floats:
            helper[c] = df[c].round(6)
        order = helper.sort_values(keys + floats, na_position="first", kind="stable").index
        return df.loc[order].reset_index(drop=True)

    p, b = ordered(p), ordered(b)
    n = min(len(p), len(b))
    bad = np.zeros(n, dtype=bool)
    for c in p_cols:
        x, y = p[c].iloc[:n], b[c].iloc[:n]
        both_null = (x.isna() & y.isna()).to_numpy()
        if c in floats:
            xv, yv = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
            close = np.isclose(xv, yv, rtol=FLOAT_RTOL, atol=0.0, equal_nan=False)
            differs = ~(both_null | close)
        else:
            one_null = (x.isna() ^ y.isna()).to_numpy()
            eq = x.astype(object).to_numpy() == y.astype(object).to_numpy()
            differs = one_null | ~(both_null | eq)
        if differs.any():
            result.problems.append(f"column {c}: {int(differs.sum())} row(s) differ")
        bad |= differs
    if bad.any() or len(p) != len(b):
        rows = (
            np.flatnonzero(bad)[:SHOW_ROWS]
            if bad.any()
            else np.arange(n, max(len(p), len(b)))[:SHOW_ROWS]
        )
        with pd.option_context("display.width", 250, "display.max_columns", 40):
            result.problems.append(
                "first differing rows (sorted position):\n  pipeline:\n"
                + p.iloc[[r for r in rows if r < len(p)]].to_string()
                + "\n  baseline:\n"
                + b.iloc[[r for r in rows if r < len(b)]].to_string()
            )
    return result


def compare(pipeline: dict[str, pd.DataFrame], baseline_dir: Path) -> list[MartComparison]:
    results = []
    baseline_names = {p.stem for p in baseline_dir.glob("*.parquet")}
    for name in sorted(set(pipeline) | baseline_names):
        if name not in pipeline:
            results.append(MartComparison(name, problems=["missing in the pipeline's marts"]))
        elif name not in baseline_names:
            results.append(MartComparison(name, problems=["missing in the baseline"]))
        else:
            results.append(
                compare_mart(
                    name, pipeline[name], pd.read_parquet(baseline_dir / f"{name}.parquet")
                )
            )
    return results


def report(results: list[MartComparison]) -> str:
    lines = []
    for r in results:
        lines.append(f"  {'equal' if r.ok else 'DIFFERS':8} {r.mart} ({r.rows} rows)")
        lines += ["      " + line for p in r.problems for line in p.splitlines()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--baseline", type=Path, required=True)
    args = parser.parse_args(argv)
    results = compare(read_pipeline_marts(args.warehouse), args.baseline)
    print(report(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
