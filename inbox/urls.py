"""Everything the app serves over HTTP: ``include("inbox.urls")`` under the API prefix(es)."""

from inbox.api.urls import urlpatterns

app_name = "inbox"

__all__ = ["app_name", "urlpatterns"]
