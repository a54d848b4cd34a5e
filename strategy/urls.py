from django.urls import path

from . import views

app_name = "strategy"
urlpatterns = [
    path("", views.strategy_on_a_page, name="home"),
]
