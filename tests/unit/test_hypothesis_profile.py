"""Property tests are reproducible where a failure must be (CI, which sets ``CI``) and explore
new examples on every local run, where a new failure is cheap to look at."""

from __future__ import annotations

import os

from hypothesis import settings


def test_the_loaded_profile_is_derandomized_exactly_in_ci() -> None:
    assert settings.default is not None
    assert settings.default.derandomize is bool(os.environ.get("CI"))
    assert settings.get_profile("ci").derandomize is True
    assert settings.get_profile("dev").derandomize is False
