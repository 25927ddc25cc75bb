from django.urls import path

from . import views, views_aides, views_invites, views_roster, views_training

urlpatterns = [
    path("schools/<int:school_pk>/designees/", views.designees, name="designees"),
    path("designees/<int:pk>/remove/", views.designee_remove, name="designee_remove"),
    # 34 CFR 300.614 and 300.623(d): who looked at a record; who may.
    path("students/<int:pk>/access-log/", views.access_log, name="access_log"),
    path("schools/<int:pk>/access-list/", views.access_list, name="access_list"),
]

# Inviting parents; the invitation link is public (the parent has no account yet).
urlpatterns += [
    path("students/<int:pk>/guardians/", views_invites.guardian_list, name="guardian_list"),
    path("guardians/<int:pk>/invite/", views_invites.guardian_invite, name="guardian_invite"),
    # Public: a parent types the code of a printed letter (before invite/<token>/).
    path("invite/code/", views_invites.invite_code, name="invite_code"),
    path("invite/<slug:token>/", views_invites.invite_accept, name="invite_accept"),
    # A school's families without an account: send again, print the letters.
    path(
        "schools/<int:pk>/invitations/", views_invites.school_invitations, name="school_invitations"
    ),
    path(
        "schools/<int:pk>/invitations/send/",
        views_invites.school_invitations_send_view,
        name="school_invitations_send",
    ),
    path(
        "schools/<int:pk>/invitations/letters/",
        views_invites.school_invitation_letters,
        name="school_invitation_letters",
    ),
]

# The district's roster (README "Roster import"): district administrators.
urlpatterns += [
    path("roster/", views_roster.roster_import_list, name="roster_import_list"),
    path("roster/<int:pk>/", views_roster.roster_import_detail, name="roster_import_detail"),
    path(
        "roster/<int:pk>/confirm/",
        views_roster.roster_import_confirm_view,
        name="roster_import_confirm",
    ),
    path(
        "roster/<int:pk>/invite-families/",
        views_roster.roster_invite_families,
        name="roster_invite_families",
    ),
]

# Training and the restraint and time-out policy (README "Training and the restraint policy").
urlpatterns += [
    path("training/", views_training.my_training, name="my_training"),
    path("schools/<int:pk>/training/", views_training.training_school, name="training_school"),
    path(
        "schools/<int:pk>/training/record/",
        views_training.training_record_view,
        name="training_record",
    ),
    path("training/district/", views_training.training_district, name="training_district"),
    path("training/import/", views_training.training_import_view, name="training_import"),
    path("policies/", views_training.policy_list, name="policy_list"),
    path("policies/<int:pk>/", views_training.policy_detail, name="policy_detail"),
    path("policies/<int:pk>/download/", views_training.policy_download, name="policy_download"),
]

# The aide support an IEP requires, and the students left without it.
urlpatterns += [
    path(
        "students/<int:pk>/aide-support/", views_aides.aide_support_edit, name="aide_support_edit"
    ),
    path("schools/<int:pk>/unstaffed/", views_aides.unstaffed_students, name="unstaffed_students"),
    path("unstaffed/", views_aides.unstaffed_district, name="unstaffed_district"),
]
