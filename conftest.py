"""Doctests in src/ (run by `make test`) see torch as `torch`."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _doctest_torch(doctest_namespace):
    doctest_namespace["torch"] = torch
