from django.urls import path

from . import views, views_invites

urlpatterns = [
    path("schools/<int:school_pk>/designees/", views.designees, name="designees"),
    path("designees/<int:pk>/remove/", views.designee_remove, name="designee_remove"),
]

# Inviting parents; the invitation link is public (the parent has no account yet).
urlpatterns += [
    path("students/<int:pk>/guardians/", views_invites.guardian_list, name="guardian_list"),
    path("guardians/<int:pk>/invite/", views_invites.guardian_invite, name="guardian_invite"),
    path("invite/<slug:token>/", views_invites.invite_accept, name="invite_accept"),
]
