"""WebSocket routes of the app; the site's ``asgi.py`` mounts them."""

websocket_urlpatterns: list = []  # filled by the live-push work (issue 3)
