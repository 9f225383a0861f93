"""^DBREST read the same way by every adapter: real 2024.1 output, its codes, system databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from backup_keeper.iris import dbrest

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_real_extselct_run_shows_the_mapped_database_restored_and_the_other_skipped() -> None:
    text = (FIXTURES / "dbrest_extselct_2024_1.txt").read_text()
    outcome = dbrest.parse_output("1", text)
    assert outcome.restored == {"/usr/irissys/mgr/t1/": "/usr/irissys/mgr/t1rest/"}
    assert outcome.skipped == ("/usr/irissys/mgr/user/",)
    assert outcome.output_read and outcome.code == "1"


def test_a_real_extall_run_shows_each_database_restored_in_place() -> None:
    outcome = dbrest.parse_output(" 1 ", (FIXTURES / "dbrest_extall_2024_1.txt").read_text())
    assert outcome.restored == {
        "/usr/irissys/mgr/t1/": "/usr/irissys/mgr/t1/",
        "/usr/irissys/mgr/user/": "/usr/irissys/mgr/user/",
    }
    assert outcome.skipped == () and outcome.code == "1"


def test_no_output_means_what_was_restored_is_unknown() -> None:
    assert not dbrest.parse_output("1", "").output_read
    assert not dbrest.parse_output("1", None).output_read


def test_only_1_is_success() -> None:
    assert dbrest.failure(1, "/b/f.cbk") is None
    assert dbrest.failure(" 1", "/b/f.cbk") is None
    for code in (0, "", "1,x", "01", "success"):
        assert dbrest.failure(code, "/b/f.cbk") is not None


def test_minus_2_is_explained() -> None:
    problem = dbrest.failure(-2, "/b/f.cbk")
    assert problem is not None and problem.startswith("^DBREST returned -2 for /b/f.cbk: ")
    assert "does not match the label in this instance's backup history" in problem


@pytest.mark.parametrize("code", ["-1", "-3", "-4", "-5", "-6"])
def test_every_documented_code_says_what_it_means(code: str) -> None:
    problem = dbrest.failure(code, "/b/f.cbk")
    assert problem == f"^DBREST returned {code} for /b/f.cbk: {dbrest.CODES[code]}"


def test_an_unlisted_code_is_a_failure_naming_the_raw_value() -> None:
    assert dbrest.failure("", "/f") == (
        "^DBREST returned (nothing) for /f: a value the documentation does not list (success is 1)"
    )


@pytest.mark.parametrize(
    ("directory", "name"),
    [
        ("/usr/irissys/mgr/", "IRISSYS"),
        ("/usr/irissys/mgr", "IRISSYS"),
        ("/usr/irissys/mgr/irisaudit/", "IRISAUDIT"),
        ("/usr/irissys/mgr/IRISSECURITY", "IRISSECURITY"),
        ("/usr/irissys/mgr/user/", None),
        ("/staging/irissys/", None),
    ],
)
def test_system_databases_are_known_by_their_directory(directory: str, name: str | None) -> None:
    assert dbrest.system_database(directory, "/usr/irissys/mgr/") == name


def test_windows_directories_keep_their_separator() -> None:
    assert dbrest.canonical("c:\\iris\\mgr\\user") == "c:\\iris\\mgr\\user\\"
    assert dbrest.system_database("C:\\IRIS\\MGR\\irisaudit", "c:\\iris\\mgr\\") == "IRISAUDIT"


def test_a_map_onto_a_system_database_is_refused_naming_it() -> None:
    refusals = dbrest.in_place_refusals(
        {"/usr/irissys/mgr/user/": "/usr/irissys/mgr/", "/a/": "/b/"}, "/usr/irissys/mgr/"
    )
    assert refusals == [
        "refused: --map /usr/irissys/mgr/user/=/usr/irissys/mgr/ would restore over IRISSYS "
        "(/usr/irissys/mgr/) in place; IRISSYS, IRISAUDIT, IRISSECURITY are never restored in "
        "place: map it to another directory"
    ]
