"""Fixtures shared by the abuse suite (the rest are in tests/conftest.py)."""

from tests.test_outbox_pg import pg_database

__all__ = ["pg_database"]
