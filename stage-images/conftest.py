"""Shared pytest setup for every stage image: the gpu marker runs only with RUN_GPU=1."""

import os

import pytest


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    if os.environ.get("RUN_GPU") == "1":
        return
    skip = pytest.mark.skip(reason="GPU test: set RUN_GPU=1 on a machine with CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
