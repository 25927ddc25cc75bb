"""The district's figures (counts per school, the reports' measures): each counted at most
once every FIGURES_CACHE_SECONDS and kept in the cache every worker shares, with the time
it was counted, which its page shows. A change the figures must show at once counts them
again at the next view."""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction


def figures(key: str, count):
    """The figures kept under `key`, or `count()` when there are none yet (or they expired)."""
    return cache.get_or_set(key, count, settings.FIGURES_CACHE_SECONDS)


def count_again(key: str) -> None:
    """The next view counts the figures under `key` again, once this change is committed."""
    transaction.on_commit(lambda: cache.delete(key))
