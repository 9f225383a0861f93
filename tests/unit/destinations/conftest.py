"""The loopback servers (tests/servers/) are registered in tests/conftest.py: the CLI tests
(tests/unit/cli/) run commands against them too."""
