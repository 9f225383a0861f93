"""Every pydantic model of the project builds its validator on first use (issue 15, item 2).

Building a model's schema costs about a millisecond; a command line that defined sixty models
paid for all of them before parsing its arguments, though ``--help`` validates nothing and
``catalog`` a handful. ``defer_build=True`` moves each build to the model's first use. The
Interoperability messages are IoP's classes, loaded inside IRIS only, and are left as IoP makes
them."""

from __future__ import annotations

import importlib
import pkgutil

import pydantic
import pytest

import backup_keeper

_SKIPPED_MODULES = {"backup_keeper.__main__"}
"""Running it would parse this process's arguments."""


def project_models() -> list[type[pydantic.BaseModel]]:
    for found in pkgutil.walk_packages(backup_keeper.__path__, "backup_keeper."):
        if found.name not in _SKIPPED_MODULES:
            importlib.import_module(found.name)
    models: set[type[pydantic.BaseModel]] = set()
    stack: list[type[pydantic.BaseModel]] = [pydantic.BaseModel]
    while stack:
        for model in stack.pop().__subclasses__():
            stack.append(model)
            if model.__module__.startswith("backup_keeper."):
                models.add(model)
    return sorted(models, key=lambda model: (model.__module__, model.__qualname__))


def _is_interop_message(model: type[pydantic.BaseModel]) -> bool:
    return model.__module__ == "backup_keeper.interop.messages"


def test_the_walk_finds_the_models_it_judges() -> None:
    names = {model.__qualname__ for model in project_models()}
    assert {"JobReport", "PurgeSettings", "Manifest", "AlertSettings", "FakeState"} <= names


@pytest.mark.parametrize(
    "model",
    [model for model in project_models() if not _is_interop_message(model)],
    ids=lambda model: f"{model.__module__}.{model.__qualname__}",
)
def test_the_model_defers_its_build(model: type[pydantic.BaseModel]) -> None:
    assert model.model_config.get("defer_build") is True
