"""PostgreSQL through psycopg 3 with server-side binding (iepcoord/settings.py), and the
limit that binding brings: a statement takes at most 65,535 parameters. Django 5.2 does
not know it; this is Django 6.1's fix (ticket #36822) until the upgrade: bulk_create,
bulk_update and deleting many rows split their rows into batches that fit."""

from django.db.backends.postgresql import base, features, operations
from django.utils.functional import cached_property

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
