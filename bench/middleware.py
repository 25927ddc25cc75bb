"""The number of database queries a request made, for bench/pages.py: only in the
benchmark's settings, and only when the request asks (header `X-Bench-Queries`), so the
measured requests run as in production."""

import json
import os
import time

from django.db import connection


class _Counter:
    def __init__(self):
        self.queries = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append(((time.perf_counter() - started) * 1000, sql, params))


class QueryCountMiddleware:
    """With the request header `X-Bench-Queries`, answers with `X-Bench-Queries` (the
    number of queries) and `X-Bench-Query-Ms` (their time); with its value `log`, also
    appends the queries, with their times and parameters, to the file BENCH_QUERY_LOG as
    one line of JSON."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        asked = request.META.get("HTTP_X_BENCH_QUERIES")
        if asked is None:
            return self.get_response(request)
        counter = _Counter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Bench-Queries"] = str(len(counter.queries))
        response["X-Bench-Query-Ms"] = f"{sum(q[0] for q in counter.queries):.1f}"
        if asked == "log" and os.environ.get("BENCH_QUERY_LOG"):
            line = {
                "path": request.get_full_path(),
                "queries": [[ms, sql, repr(params)] for ms, sql, params in counter.queries],
            }
            with open(os.environ["BENCH_QUERY_LOG"], "a") as log:
                log.write(json.dumps(line) + "\n")
        return response
