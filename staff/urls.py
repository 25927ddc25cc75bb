from django.urls import path

from . import views

urlpatterns = [
    path("schools/<int:school_pk>/designees/", views.designees, name="designees"),
    path("designees/<int:pk>/remove/", views.designee_remove, name="designee_remove"),
]
