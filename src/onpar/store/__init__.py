"""Persistence: the per-run SQLite store and the cross-run output cache."""

from onpar.store.cache import NullCache, OutputCache, default_cache_path, request_key
from onpar.store.run_store import RunStore

__all__ = ["NullCache", "OutputCache", "RunStore", "default_cache_path", "request_key"]
