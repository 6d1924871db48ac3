"""The unsubscribe page behind every notification e-mail's link (RFC 8058 one-click).

The signed token in the URL is the credential, so it works without a login and without a CSRF
cookie (mail providers POST ``List-Unsubscribe=One-Click`` from their servers). Only POST
changes anything: link scanners and prefetchers GET every URL of an e-mail, and a GET only
shows the button.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from inbox.notifications.services import notifications_unsubscribe
from inbox.notifications.tokens import read_unsubscribe_token

TEMPLATE = "inbox/notifications/unsubscribe.html"


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = read_unsubscribe_token(token)
    if subscriber is None:
        return TemplateResponse(request, TEMPLATE, {"state": "invalid"}, status=400)
    if request.method != "POST":
        return TemplateResponse(request, TEMPLATE, {"state": "confirm"})
    if not notifications_unsubscribe(subscriber=subscriber):
        return TemplateResponse(request, TEMPLATE, {"state": "invalid"}, status=400)
    return TemplateResponse(request, TEMPLATE, {"state": "done"})
