"""The Django admin: every model is there, searchable and filterable, and list pages do a
fixed number of queries however large the table."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.urls import reverse

from staff.models import AuditEvent

from . import factories as f

MODELS = [*apps.get_app_config("staff").get_models(), *apps.get_app_config("meetings").get_models()]


@pytest.fixture
def superuser(db):
    return f.UserFactory(is_staff=True, is_superuser=True)


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_model_is_in_the_admin_searchable_and_filterable(model):
    model_admin = admin.site._registry.get(model)
    assert model_admin is not None, f"{model.__name__} is not in the admin"
    assert model_admin.search_fields
    assert model_admin.list_filter or model_admin.date_hierarchy


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_list_page_opens_with_a_search(model, client, superuser):
    client.force_login(superuser)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert client.get(url, {"q": "jordan"}).status_code == 200


def make_rows(n, school, case_manager):
    for _ in range(n):
        seca = f.UserFactory()
        meeting = f.MeetingFactory(
            student=f.StudentFactory(school=school), scheduled_by=case_manager
        )
        req = f.AttendanceRequestFactory(meeting=meeting, seca=seca)
        AuditEvent.objects.create(
            actor=seca,
            action="request.submitted",
            object_type="attendancerequest",
            object_id=str(req.pk),
            school=school,
            student=meeting.student,
        )


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize(
    ("page", "queries"),
    [
        # session, user, the count (estimated from PostgreSQL's statistics on large
        # tables), the page of rows with its joins; with a date hierarchy, its first and
        # last date and the dates to drill into
        ("staff_student", 6),
        ("meetings_meeting", 6),
        ("meetings_attendancerequest", 4),
        ("staff_auditevent", 4),
    ],
)
def test_list_pages_do_a_fixed_number_of_queries(
    page, queries, n, client, superuser, school, case_manager, django_assert_num_queries
):
    make_rows(n, school, case_manager)
    client.force_login(superuser)
    # On PostgreSQL the paginator first reads the table's estimated size.
    with django_assert_num_queries(queries + (connection.vendor == "postgresql")):
        response = client.get(reverse(f"admin:{page}_changelist"))
    assert response.status_code == 200


def test_a_huge_unfiltered_list_is_counted_from_statistics(postgres, client, superuser):
    from django.db import connection as conn

    from staff.admin import LargeTablePaginator

    with conn.cursor() as cursor:  # as ANALYZE would record for a table of 5 million rows
        cursor.execute("UPDATE pg_class SET reltuples = 5000000 WHERE relname = 'staff_auditevent'")
    paginator = LargeTablePaginator(AuditEvent.objects.all(), 50)
    assert paginator.count == 5_000_000
    assert LargeTablePaginator(AuditEvent.objects.filter(action="x"), 50).count == 0
