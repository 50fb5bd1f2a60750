"""The API fixtures (an app with stored data) for the audit tests."""

from tests.api.conftest import client, env  # noqa: F401 - fixtures
