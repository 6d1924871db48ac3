"""Everything the app serves over HTTP: ``include("inbox.urls")`` under the API prefix(es)."""

from django.urls import re_path

from inbox.api.urls import urlpatterns as api_urlpatterns
from inbox.i18n import js_catalog_view
from inbox.notifications.views import unsubscribe_view

app_name = "inbox"

urlpatterns = [
    # The widget's translations (inbox/i18n.py), before the API's catch-all.
    re_path(
        r"^i18n/(?P<lang>[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*)\.json$",
        js_catalog_view,
        name="js-catalog",
    ),
    # The notification e-mails' one-click unsubscribe (inbox/notifications/views.py).
    re_path(
        r"^notifications/unsubscribe/(?P<token>[A-Za-z0-9_:.-]+)$",
        unsubscribe_view,
        name="notifications-unsubscribe",
    ),
    *api_urlpatterns,
]

__all__ = ["app_name", "urlpatterns"]
