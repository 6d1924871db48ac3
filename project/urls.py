from typing import Any

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView


class HomeView(TemplateView):
    """The demo shop's page, with the chat widget, under a strict Content-Security-Policy: the
    sources the README's "Content-Security-Policy" section says the widget needs, no more."""

    template_name = "home.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().dispatch(request, *args, **kwargs)
        host = request.get_host()
        response.headers["Content-Security-Policy"] = "; ".join(
            [
                "default-src 'none'",
                "script-src 'self'",
                "style-src 'self'",
                "img-src 'self' data: https:",
                f"connect-src 'self' ws://{host} wss://{host}",
                "form-action 'self'",
                "base-uri 'none'",
                "object-src 'none'",
                "frame-ancestors 'none'",
            ]
        )
        return response


urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # Wix's public REST paths, and the ones Wix's SDK uses for a custom host.
    path("inbox/", include("inbox.urls", namespace="inbox")),
    path("crm/inbox/", include("inbox.urls", namespace="inbox-crm")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]
