"""Chapter 00 fixtures: how the checks find the learner's app."""

import pytest


async def learner_app(ns, database_url):
    """Probe run in the learner's process: the module-level ``app`` of the notebook."""
    if "app" not in ns:
        raise NameError("name 'app' is not defined")
    return ns["app"]


@pytest.fixture
def app_probe():
    return learner_app
