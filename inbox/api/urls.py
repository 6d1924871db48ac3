"""The app's one URLconf. The site mounts it under the prefixes it wants (the demo project uses
``/inbox/`` and ``/crm/inbox/``, the second being where Wix's SDK goes on a custom host)."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from inbox.api import views
from inbox.api.errors import not_found_view
from inbox.attachments.views import AttachmentViewSet
from inbox.notifications.api import NotificationSettingsViewSet
from inbox.replies.views import SavedReplyViewSet
from inbox.webhooks.views import WebhookEndpointViewSet

router = SimpleRouter(trailing_slash=False)
router.register("v2/conversations", views.ConversationViewSet, basename="conversation")
router.register("v2/messages", views.MessageViewSet, basename="message")
router.register("v2/visitors", views.VisitorViewSet, basename="visitor")
router.register("v2/availability", views.AvailabilityViewSet, basename="availability")
# Our extension: the site's webhook endpoints (inbox/webhooks/).
router.register("v2/webhooks/endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("v2/attachments", AttachmentViewSet, basename="attachment")
# Our extension: staff users' saved replies (inbox/replies/).
router.register("v2/saved-replies", SavedReplyViewSet, basename="saved-reply")
# Our extension: a staff user's own notification settings (inbox/notifications/).
router.register("v2/notifications", NotificationSettingsViewSet, basename="notifications")

urlpatterns = [
    *router.urls,
    # Anything else under the prefix answers in Wix's envelope rather than an HTML 404.
    re_path(r"^.*$", not_found_view),
]
