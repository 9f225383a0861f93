"""Backup.ShardedCluster checkpoint info: the top node is the checkpoint number, the journal
files sit under (host, port); the source is thin, so every node is kept raw too."""

from __future__ import annotations

from backup_keeper.iris.checkpoint import CheckpointJournal, parse_checkpoint


def test_the_number_and_each_nodes_journal_file_are_read_and_the_raw_form_kept() -> None:
    checkpoint = parse_checkpoint(
        {
            "top": "17",
            "nodes": [
                {"subscripts": ["node1", 1972], "value": "/j/20261122.003"},
                {"subscripts": ["node2", "51773"], "value": "/j/20261122.007"},
            ],
        }
    )
    assert checkpoint is not None and checkpoint.number == "17"
    assert checkpoint.journals == (
        CheckpointJournal("node1", "1972", "/j/20261122.003"),
        CheckpointJournal("node2", "51773", "/j/20261122.007"),
    )
    assert checkpoint.as_record() == {
        "number": "17",
        "journals": [
            {"host": "node1", "port": "1972", "file": "/j/20261122.003"},
            {"host": "node2", "port": "51773", "file": "/j/20261122.007"},
        ],
        "raw": [
            {"subscripts": [], "value": "17"},
            {"subscripts": ["node1", "1972"], "value": "/j/20261122.003"},
            {"subscripts": ["node2", "51773"], "value": "/j/20261122.007"},
        ],
        "truncated": False,
    }


def test_odd_nodes_are_kept_raw_and_never_taken_for_what_they_are_not() -> None:
    checkpoint = parse_checkpoint(
        {
            "top": "١٧",
            "nodes": [
                {"subscripts": ["node1"], "value": "x"},
                {"subscripts": ["node1", 1972, "more"], "value": "y"},
                {"subscripts": ["node1", 1972], "value": ""},
                {"subscripts": "node1", "value": "z"},
                "garbage",
                {"value": "w"},
            ],
            "truncated": 1,
        }
    )
    assert checkpoint is not None
    assert checkpoint.number is None and checkpoint.journals == () and checkpoint.truncated
    raw = checkpoint.as_record()["raw"]
    assert isinstance(raw, list)
    assert [node["subscripts"] for node in raw if isinstance(node, dict)] == [
        [],
        ["node1"],
        ["node1", "1972", "more"],
        ["node1", "1972"],
    ]


def test_no_checkpoint_answer_is_no_checkpoint() -> None:
    answers: tuple[object, ...] = (None, {}, [], "17")
    for answer in answers:
        assert parse_checkpoint(answer) is None
