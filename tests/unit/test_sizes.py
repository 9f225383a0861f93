"""One way to write a byte count, for tables and summary lines alike."""

from __future__ import annotations

from backup_keeper.sizes import human_size


def test_sizes_use_binary_units_with_one_decimal_and_a_dash_when_unknown() -> None:
    shown = [human_size(n) for n in (None, -1, 0, 1023, 1536, 5 * 2**30, 3 * 2**50, 2**70)]
    assert shown == ["-", "-", "0 B", "1023 B", "1.5 KiB", "5.0 GiB", "3.0 PiB", "1048576.0 PiB"]
