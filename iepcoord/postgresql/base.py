"""PostgreSQL through psycopg 3 with server-side binding (iepcoord/settings.py), and the
limit that binding brings: a statement takes at most 65,535 parameters. Django 5.2 does
not know it; this is Django 6.1's fix (ticket #36822) until the upgrade: bulk_create,
bulk_update and deleting many rows split their rows into batches that fit.

Statements run inside `iepcoord.db.prepared()` are prepared on the connection, and run
from their plan the next times; no other statement run by `execute()` is (psycopg's
`executemany()`, which the app does not call, prepares its statement when preparing is
on)."""

from django.db.backends.postgresql import base, features, operations
from django.utils.functional import cached_property

from iepcoord.db import PREPARED

MAX_PARAMETERS = 2**16 - 1


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def max_query_params(self):
        return MAX_PARAMETERS if self.uses_server_side_binding else None


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs):
        limit = self.connection.features.max_query_params
        if limit is None or not fields:
            return len(objs)
        return max(limit // len(fields), 1)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations

    def get_connection_params(self):
        params = super().get_connection_params()
        if params["cursor_factory"] is base.ServerBindingCursor:
            params["cursor_factory"] = PreparingCursor
            # psycopg prepares nothing while this is None, even when asked; the cursor
            # decides for each statement, so psycopg never prepares one on its own count.
            params["prepare_threshold"] = 0
        return params


class PreparingCursor(base.ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        if prepare is None:
            prepare = PREPARED.get()
        return super().execute(query, params, prepare=prepare, binary=binary)
