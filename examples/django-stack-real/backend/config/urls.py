from django.urls import path

from app import views

urlpatterns = [
    path("api/health", views.health),
    path("api/hello", views.hello),
    path("api/add", views.add),
]
