"""CLI tables fit the terminal (issue 14 #4): columns are dropped, lowest priority first, and
what is shown is never cut to "0.…"; too narrow even so, a cell folds onto the next line."""

from __future__ import annotations

import io

from rich.console import Console

from subnetes.chain.cli import fit_table

COLUMNS = [("UID", 0), ("STAKE", 0), ("RANK", 2), ("TRUST", 1), ("AXON", 3)]
ROWS = [
    ["0", "1000.000000000", "0.12345", "0.98765", "127.0.0.1:8091"],
    ["11", "12.500000000", "0.00001", "1.00000", "-"],
]


def rendered(width: int) -> tuple[str, list[str]]:
    table, dropped = fit_table(COLUMNS, ROWS, width, title="subnet 1 @ block 7")
    console = Console(width=width, file=io.StringIO())
    console.print(table)
    return console.file.getvalue(), dropped  # type: ignore[attr-defined]


def test_wide_enough_shows_every_column_whole() -> None:
    text, dropped = rendered(200)
    assert dropped == []
    for cell in [h for h, _ in COLUMNS] + [c for row in ROWS for c in row]:
        assert cell in text


def test_narrow_drops_the_lowest_priority_columns_and_cuts_no_number() -> None:
    text, dropped = rendered(40)
    assert dropped == ["AXON", "RANK"]
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 40
    for row in ROWS:
        for cell in (row[0], row[1], row[3]):
            assert cell in text


def test_too_narrow_even_so_folds_cells_instead_of_cutting_them() -> None:
    text, dropped = rendered(16)
    assert dropped == ["AXON", "RANK", "TRUST"]
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 16
    # the stake folds onto the next lines: its digits are all there, in order
    assert "1000.000000000" in "".join(text.split())
