"""URLs of the link board: the app's pages and the stock admin (walrus pages under
/admin/walrus/)."""

from django.contrib import admin
from django.urls import path
from links import views

urlpatterns = [
    path("", views.index, name="index"),
    path("links/add/", views.add_link, name="link-add"),
    path("links/<str:pk>/", views.link_detail, name="link-detail"),
    path("links/<str:pk>/vote/", views.vote, name="link-vote"),
    path("top/", views.top, name="top"),
    path("api/links/", views.api_links, name="api-links"),
    path("maintenance/", views.maintenance, name="maintenance"),
    path("admin/", admin.site.urls),
]
