from django.urls import path

from . import views, views_invites

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
    path("invite/<slug:token>/", views_invites.invite_accept, name="invite_accept"),
]
