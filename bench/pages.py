"""Every page at district scale (README "Pages at district scale"). Not a test.

    .venv/bin/python bench/pages.py [--role case_manager] [--page caseload] [--seconds 3]

On the benchmark district of bench/district.py (generated when absent, reused when present:
`--regenerate` makes a new one around today), serves the app with gunicorn (`-k sync -w 3`,
bench/settings.py: production's settings over plain http on 127.0.0.1) and, for a busy
person of each role, signs in (a session made in the database, as a sign-in makes it;
two-step sign-in already set up for the district administrator), follows the links of their
home page to every page they reach (the same-origin links, one kind per path with its ids
collapsed) and measures each page with wrk: requests per second at 16 connections, p50 and
p95 at 4, and the same for a minimal signed-in page served by the same server right
after, so each page has its own baseline from the same run. Also counts each page's
database queries (bench/middleware.py). Prints a table; `--json` writes it too.

Needs PostgreSQL (BENCH_DATABASE_URL, as bench/district.py) and wrk (Debian's `wrk`).
"""

import argparse
import datetime
import html.parser
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections import deque
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

import district  # noqa: E402  (this folder, as the script's)

ROLES = [
    "district_admin",
    "union_rep",
    "principal",
    "designee",
    "case_manager",
    "seca",
    "parent",
]
MINIMAL = "/bench/minimal/"
# Links not followed: signing out, the language switch (POST), the Django admin (another
# site), static files; a plan's copy and download (the copy's link records the opening on
# GET, then redirects to the file); the files themselves (the district's plans and
# policy are rows without a stored PDF).
SKIPPED = re.compile(
    r"^/(accounts/logout/|i18n/|admin/|static/|deliveries/\d+/|plans/\d+/download/"
    r"|policies/\d+/download/)"
)
CRAWL_PER_KIND = 3  # instances of a kind fetched to find links: a held meeting's differ
CRAWL_DEPTH = 4
# A slow page's runs last longer, so that each completes about ten requests: up to this.
MAX_SECONDS = 20
STALE_DAYS = 7


def log(message: str):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- The district and its people ------------------------------------------------------------


def prepare_district(*, regenerate: bool) -> dict:
    """The benchmark district: reused when one of this generator is there, else made."""
    from django.core.management import call_command

    meta = None if regenerate else district.district_meta()
    if meta is None or meta["version"] < district.DISTRICT_VERSION:
        log("No benchmark district of this generator: generating one (about a minute)")
        district.build_district()
        meta = district.district_meta()
    else:
        call_command("migrate", verbosity=0)
        age = datetime.datetime.now(datetime.UTC) - meta["bench_now"]
        log(f"Reusing the benchmark district generated {meta['bench_now']:%Y-%m-%d %H:%M} UTC")
        if age > datetime.timedelta(days=STALE_DAYS):
            log(
                f"Its dates are {age.days} days old: pass --regenerate for one around today "
                "(meetings ahead have passed, reviews fell due)"
            )
    return meta


def busy_people() -> dict:
    """A busy person of each role: user and what makes them busy."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from meetings.models import AttendanceRequest
    from staff.models import Assignment, Designation, Role, User

    now = timezone.now()
    pending = (
        AttendanceRequest.objects.filter(status="pending", meeting__starts_at__gte=now)
        .values("meeting__school")
        .annotate(n=Count("pk"))
        .order_by("-n", "meeting__school")
    )
    busiest = {row["meeting__school"]: row["n"] for row in pending}
    designated = set(Designation.objects.values_list("school", flat=True))
    principal_school = next(iter(busiest))
    designee_school = next(s for s in busiest if s in designated)
    case_manager = (
        User.objects.filter(roles__kind=Role.Kind.CASE_MANAGER)
        .exclude(roles__kind=Role.Kind.ASSISTANT_PRINCIPAL)
        .annotate(n=Count("caseload", distinct=True))
        .order_by("-n", "pk")
        .first()
    )
    seca = (
        User.objects.filter(roles__kind=Role.Kind.SECA)
        .annotate(
            n=Count(
                "assignments",
                filter=Q(assignments__in=Assignment.objects.current(), assignments__kind="seca"),
                distinct=True,
            ),
            r=Count("attendance_requests", distinct=True),
        )
        .order_by("-n", "-r", "pk")
        .first()
    )
    parent = (
        User.objects.annotate(n=Count("guardianships", distinct=True))
        .filter(n__gt=0)
        .order_by("-n", "pk")
        .first()
    )
    people = {
        "district_admin": (User.objects.get(email=district.ADMIN_EMAIL), "the district"),
        "union_rep": (User.objects.get(email=district.UNION_EMAIL), "the district"),
        "principal": (
            Role.objects.get(kind=Role.Kind.PRINCIPAL, school=principal_school).user,
            f"school {principal_school}, {busiest[principal_school]} requests pending",
        ),
        "designee": (
            Designation.objects.filter(school=designee_school).first().designee,
            f"assistant principal and designee, school {designee_school}, "
            f"{busiest[designee_school]} requests pending",
        ),
        "case_manager": (case_manager, f"caseload of {case_manager.n}"),
        "seca": (seca, f"{seca.n} students this year, {seca.r} requests"),
        "parent": (parent, f"{parent.n} children"),
    }
    return people


def sign_in(user) -> str:
    """A session as signing in makes it (django.contrib.auth.login): the Cookie header."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "allauth.account.auth_backends.AuthenticationBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


# --- The server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict, port: int, workers: int, log_path: Path):
    handle = open(log_path, "w")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "iepcoord.wsgi",
            "-k",
            "sync",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn stopped:\n{log_path.read_text()}")
        try:
            fetch(port, "/accounts/login/", "")
            return proc, handle
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within a minute")


def stop_server(proc, handle):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    handle.close()


def fetch(port: int, path: str, cookie: str, *, queries: str = "") -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    if queries:
        headers["X-Bench-Queries"] = queries
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


# --- Finding the pages -----------------------------------------------------------------------


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def kind_of(path: str) -> str:
    """The page's kind: its path with ids and secret tokens collapsed. A query (a sort, a
    period, a page of a list) makes no other kind: the first link found is measured."""
    parts = []
    for part in urllib.parse.urlsplit(path).path.split("/"):
        stem, dot, suffix = part.partition(".")
        if stem.isdigit():
            part = "<id>" + dot + suffix
        elif len(stem) >= 20:
            part = "<token>" + dot + suffix
        parts.append(part)
    return "/".join(parts)


def same_origin(href: str, base: str, port: int) -> str | None:
    """The link as a path on this server, or None. A webcal:// link (the calendar feed)
    is fetched over http by calendar apps."""
    if href.startswith("webcal://"):
        href = "http://" + href.removeprefix("webcal://")
    url = urllib.parse.urlsplit(urllib.parse.urljoin(f"http://127.0.0.1:{port}{base}", href))
    if url.scheme != "http" or url.netloc not in (f"127.0.0.1:{port}", f"localhost:{port}"):
        return None
    return url.path + ("?" + url.query if url.query else "")


def crawl(port: int, cookie: str) -> list[dict]:
    """The pages reachable from the home page by links: each kind's first instance, in
    the order found, with its status and queries; the links of up to CRAWL_PER_KIND
    instances of each kind are followed."""
    seen_kinds: dict[str, list[str]] = {}
    pages = []
    queue = deque([("/", 0)])
    visited = set()
    while queue:
        path, depth = queue.popleft()
        kind = kind_of(path)
        if path in visited or len(seen_kinds.get(kind, [])) >= CRAWL_PER_KIND:
            continue
        visited.add(path)
        status, headers, body = fetch(port, path, cookie, queries="log")
        first = kind not in seen_kinds
        seen_kinds.setdefault(kind, []).append(path)
        if first:
            pages.append(
                {
                    "kind": kind,
                    "path": path,
                    "status": status,
                    "location": headers.get("Location", ""),
                    "queries": int(headers.get("X-Bench-Queries", 0)),
                }
            )
        if (
            status != 200
            or "text/html" not in headers.get("Content-Type", "")
            or depth >= CRAWL_DEPTH
        ):
            continue
        parser = Links()
        parser.feed(body.decode("utf-8", "replace"))
        for href in parser.hrefs:
            link = same_origin(href.split("#")[0], path, port)
            if link and not SKIPPED.match(link) and link not in visited:
                queue.append((link, depth + 1))
    return pages


def admin_lists(port: int, cookie: str) -> list[dict]:
    """The administration site's list of every model (the crawl leaves the site alone:
    its links are endless), for the administrator, who has it."""
    from django.contrib import admin

    pages = []
    for model in admin.site._registry:
        path = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        status, headers, _ = fetch(port, path, cookie, queries="log")
        pages.append(
            {
                "kind": path,
                "path": path,
                "status": status,
                "location": headers.get("Location", ""),
                "queries": int(headers.get("X-Bench-Queries", 0)),
            }
        )
    return pages


# --- Measuring --------------------------------------------------------------------------------


def wrk(port: int, path: str, cookie: str, *, connections: int, seconds: int) -> dict:
    """One wrk run: requests per second and latency percentiles (bench/wrk_report.lua)."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s"]
    command += ["-s", str(BENCH / "wrk_report.lua"), "-H", f"Cookie: {cookie}"]
    done = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    )
    report = json.loads(next(x for x in done.stdout.splitlines() if x.startswith("{")))
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    report["p50_ms"] = report["p50_us"] / 1000
    report["p95_ms"] = report["p95_us"] / 1000
    return report


def drain(port: int, session: str) -> None:
    """Wait until the server has finished the requests wrk left queued (a slow page's
    backlog outlives the run): the next run measures only its own."""
    deadline = time.monotonic() + 120
    quick = 0
    while quick < 3 and time.monotonic() < deadline:
        started = time.perf_counter()
        fetch(port, MINIMAL, session)
        quick = quick + 1 if time.perf_counter() - started < 0.25 else 0


def measure(port: int, path: str, cookie: str, *, seconds: int, session: str) -> dict:
    """The page at 16 connections (throughput) and 4 (latency) with `cookie`, then the
    minimal page at 16 with the person's `session`: the page's own baseline. First one request, which counts
    the page's queries (the workers warm by then) and times it: a slow page runs longer."""
    started = time.perf_counter()
    _, headers, _ = fetch(port, path, cookie, queries="1")
    single = time.perf_counter() - started
    span = max(seconds, min(MAX_SECONDS, math.ceil(8 * single)))
    page = wrk(port, path, cookie, connections=16, seconds=span)
    drain(port, session)
    latency = wrk(port, path, cookie, connections=4, seconds=span)
    drain(port, session)
    base = wrk(port, MINIMAL, session, connections=16, seconds=seconds)
    return {
        "queries": int(headers.get("X-Bench-Queries", 0)),
        "query_ms": float(headers.get("X-Bench-Query-Ms", 0)),
        "single_ms": single * 1000,
        "seconds": span,
        "requests": page["requests"],
        "requests_at_4": latency["requests"],
        "rps": page["rps"],
        "p50_ms": latency["p50_ms"],
        "p95_ms": latency["p95_ms"],
        "p99_ms": latency["p99_us"] / 1000,
        "p95_ms_at_16": page["p95_ms"],
        "baseline_rps": base["rps"],
        "ratio": page["rps"] / base["rps"] if base["rps"] else 0.0,
        "errors": page["status_errors"] + latency["status_errors"] + page["socket_errors"],
        "kb": page["bytes"] / max(page["requests"], 1) / 1024,
    }


def print_table(rows: list[dict], file=sys.stdout):
    header = f"{'role':<15}{'page':<46}{'req/s':>7}{'p50 ms':>8}{'p95 ms':>8}{'minimal':>9}{'ratio':>7}{'queries':>9}"
    print(header, file=file)
    print("-" * len(header), file=file)
    for row in rows:
        if "rps" not in row:
            print(f"{row['role']:<15}{row['kind']:<46}  {row['note']}", file=file)
            continue
        flag = " *" if row["ratio"] < 0.5 or row["p95_ms"] >= 100 else ""
        flag += f" ({row['errors']} errors)" if row["errors"] else ""
        if row["requests_at_4"] < 20:
            flag += f" ({row['requests_at_4']} requests in {row['seconds']} s)"
        print(
            f"{row['role']:<15}{row['kind'][:45]:<46}{row['rps']:>7.0f}{row['p50_ms']:>8.1f}"
            f"{row['p95_ms']:>8.1f}{row['baseline_rps']:>9.0f}{row['ratio']:>7.2f}"
            f"{row['queries']:>9}{flag}",
            file=file,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", action="append", choices=ROLES, help="repeatable; default all")
    parser.add_argument("--page", action="append", help="only pages whose kind contains this")
    parser.add_argument("--seconds", type=int, default=2, help="each wrk run (three a page)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn's sync workers")
    parser.add_argument("--regenerate", action="store_true", help="a new district around today")
    parser.add_argument("--crawl-only", action="store_true", help="list the pages, measure none")
    parser.add_argument("--json", help="write the results to this file too")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not on the PATH: apt-get install wrk")

    query_log = Path("/tmp") / f"iepcoord-bench-queries-{os.getpid()}.jsonl"
    os.environ.update(DJANGO_SETTINGS_MODULE="bench.settings", BENCH_QUERY_LOG=str(query_log))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.sessions.models import Session
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from staff.models import AuditEvent

    meta = prepare_district(regenerate=args.regenerate)
    cache.clear()  # no figures of an earlier run or district
    log("Collecting static files (the manifest production's storage reads)")
    call_command("collectstatic", interactive=False, verbosity=0)
    people = busy_people()
    roles = args.role or ROLES
    cookies = {role: sign_in(people[role][0]) for role in roles}
    started = timezone.now()
    connection.close()
    load_before = os.getloadavg()

    port = free_port()
    server_log = Path("/tmp") / f"iepcoord-bench-gunicorn-{os.getpid()}.log"
    proc, handle = start_server(os.environ.copy(), port, args.workers, server_log)
    rows = []
    try:
        for role in roles:
            user, why = people[role]
            log(f"{role}: {user.email} ({why}); following the links of the home page")
            pages = crawl(port, cookies[role])
            if role == "district_admin":
                pages += admin_lists(port, cookies[role])
            if role in ("district_admin", "union_rep") or any(
                p["kind"] == "/calendar/" for p in pages
            ):
                feed = f"/calendar/{user.calendar_token}.ics"
                if not any(p["kind"] == kind_of(feed) for p in pages):
                    status, headers, _ = fetch(port, feed, "", queries="log")
                    pages.append(
                        {
                            "kind": kind_of(feed),
                            "path": feed,
                            "status": status,
                            "location": "",
                            "queries": int(headers.get("X-Bench-Queries", 0)),
                        }
                    )
            for page in pages:
                row = {"role": role, "user": user.email, **page}
                if args.page and not any(part in page["kind"] for part in args.page):
                    continue
                if page["status"] != 200:
                    row["note"] = f"not measured: {page['status']} {page['location']}".strip()
                    rows.append(row)
                    continue
                if not args.crawl_only:
                    # A calendar app fetches the feed without a session.
                    cookie = "" if "<token>.ics" in page["kind"] else cookies[role]
                    row.update(
                        measure(
                            port,
                            page["path"],
                            cookie,
                            seconds=args.seconds,
                            session=cookies[role],
                        )
                    )
                else:
                    row["note"] = f"200, {page['queries']} queries"
                rows.append(row)
                if "rps" in row:
                    log(
                        f"  {page['path']}: {row['rps']:.0f}/s (minimal {row['baseline_rps']:.0f}/s,"
                        f" {row['ratio']:.2f}), p95 {row['p95_ms']:.1f} ms, {row['queries']} queries"
                    )
                else:
                    log(f"  {page['path']}: {row['note']}")
        _, headers, _ = fetch(port, MINIMAL, cookies[roles[0]], queries="1")
        minimal_queries = headers.get("X-Bench-Queries")
    finally:
        stop_server(proc, handle)
        # What the run wrote: the sessions, and the audit trail of the pages it read.
        Session.objects.filter(
            session_key__in=[c.split("=", 1)[1] for c in cookies.values()]
        ).delete()
        forgotten, _ = AuditEvent.objects.filter(at__gte=started).delete()
        # Deleted rows stay in the audit trail's indexes until vacuumed: the next run's
        # access logs counted through them (the case manager's 0.49 of the minimal page,
        # 0.70 after a VACUUM).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE staff_auditevent")
        log(f"Deleted the run's sessions and its {forgotten} audit events")

    load = " ".join(f"{x:.2f}" for x in load_before + os.getloadavg())
    print(f"\n=== Pages at district scale ({settings.DATABASES['default']['NAME']}) ===")
    print(f"{os.cpu_count()} cores; load average before and after (1, 5, 15 min): {load}")
    print(
        f"district generated {meta['bench_now']:%Y-%m-%d %H:%M} UTC; gunicorn -k sync "
        f"-w {args.workers}; wrk -t1 for {args.seconds:g} s a run: req/s at 16 connections, "
        f"p50/p95 at 4; minimal: the minimal signed-in page ({minimal_queries} queries) at 16 "
        "connections right after; * below half the minimal page's throughput or p95 >= 100 ms"
    )
    for role in roles:
        user, why = people[role]
        print(f"  {role}: {user.email}, {why}")
    print()
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
    print(f"\nqueries of each page, in order, with their times: {query_log}")


if __name__ == "__main__":
    main()
