"""The app's settings: one ``INBOX`` dict in the site's settings, read lazily.

Nothing here reads ``django.conf.settings`` at import time, so ``override_settings(INBOX=…)``
works in tests.
"""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Shown as ``businessDisplayData`` on every conversation.
    "BUSINESS_NAME": "",
    "BUSINESS_IMAGE_URL": None,
    # Visitor tokens from POST v2/visitors expire after this many seconds.
    "VISITOR_TOKEN_MAX_AGE": 60 * 60 * 24 * 30,
    # Request bodies above this size get 413 before they are parsed.
    "MAX_BODY_BYTES": 512 * 1024,
    # Messages replayed to a resuming socket at most, per conversation; past it the client
    # is told to catch up over REST.
    "REPLAY_LIMIT": 500,
    # A resuming socket is replayed messages from this many seconds before the last sequence it
    # saw (sequences are allocation times in µs): covers transactions that committed, or events
    # that were delivered, out of sequence order. Replayed copies carry the ids already seen.
    "RESUME_WINDOW_SECONDS": 10,
    # An API key's app is looked up once per this many seconds per server process (0: on every
    # request). Deactivating or deleting an app takes effect at once in the process that did it
    # and within this many seconds in the others.
    "API_KEY_CACHE_SECONDS": 5,
    # WebSocket limits. A client frame longer than this many characters closes the socket with
    # 4009 (the largest legitimate frame is a business resume naming its conversations).
    "SOCKET_MAX_FRAME_CHARS": 64 * 1024,
    # A socket whose client has not sent ``resume`` this many seconds after the greeting goes
    # live without a replay (``ready`` with ``"resumed": false``): the events that arrived since
    # it connected are delivered then, in order. A client that wants its past sends ``resume``.
    "SOCKET_RESUME_WAIT_SECONDS": 3.0,
    # More than SOCKET_MAX_FRAMES client frames (pings included) within
    # SOCKET_FRAMES_WINDOW_SECONDS close the socket with 4429.
    "SOCKET_MAX_FRAMES": 30,
    "SOCKET_FRAMES_WINDOW_SECONDS": 10.0,
    # A business resume may name at most this many conversations (more: INVALID_RESUME), and is
    # replayed at most this many conversations it does not name (more: ``reset``).
    "SOCKET_MAX_RESUME_CONVERSATIONS": 500,
    # An open socket re-validates its caller (session and user, or API key) at most this many
    # seconds after the last check (each interval drawn from half to all of it, so sockets
    # opened together do not query together), and before its first event past that deadline.
    # A revoked caller's socket is closed with the handshake's code (4401 / 4403). Visitor
    # sockets close when their token expires, whatever this says.
    "SOCKET_RECHECK_SECONDS": 30.0,
    # Where inbox.realtime.routing mounts the two WebSocket streams, relative to the site root
    # (a Django path route, ending in "/"); the staff page and {% inbox_widget %} follow them.
    "BUSINESS_STREAM_PATH": "ws/inbox/business/",
    "PARTICIPANT_STREAM_PATH": "ws/inbox/participant/",
    # Prefix of every channel-layer group name: 1 to 50 ASCII letters, digits, "-", "_" or ".".
    "GROUP_PREFIX": "inbox",
    # Requests per caller (DRF rate strings such as "10/s", "600/min"; None = no limit), by the
    # caller's kind; "visitor_create" is POST v2/visitors per client IP. Over it: 429 with
    # Retry-After. A dict given here is merged over these defaults. Apps (server-side holders
    # of a secret key) are not limited by default; participants, who are anyone on the web, are.
    "THROTTLE_RATES": {
        "app": None,
        "staff": "30/s",
        "member": "10/s",
        "visitor": "10/s",
        "visitor_create": "60/min",
    },
    # The cache holding throttle counters: a shared cache (Redis, database) makes the budgets
    # hold across server processes; the default local-memory cache counts per process.
    "THROTTLE_CACHE": "default",
    # The outbox relay (``manage.py inbox_relay``) publishes events still unpublished this many
    # seconds after they were recorded (their process died between commit and publish), looking
    # every OUTBOX_RELAY_INTERVAL_SECONDS. The grace keeps it from racing the live publish.
    "OUTBOX_RELAY_GRACE_SECONDS": 2.0,
    "OUTBOX_RELAY_INTERVAL_SECONDS": 0.5,
    # Published outbox events are deleted after this many seconds.
    "OUTBOX_RETENTION_SECONDS": 7 * 24 * 60 * 60,
    # Webhook attempts: the first at once, then after each failure wait the next of these many
    # seconds (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); past the last, give up.
    "WEBHOOK_RETRY_SCHEDULE": [0, 5, 300, 1800, 7200, 18000, 36000, 36000],
    # One attempt waits at most this long for the receiver's answer.
    "WEBHOOK_TIMEOUT_SECONDS": 15.0,
    # Networks (CIDR) webhooks may go to although they are loopback, private or link-local; by
    # default none: such destinations are refused (the SSRF guard, inbox/webhooks/destinations.py).
    "WEBHOOK_ALLOWED_NETWORKS": [],
    # An endpoint whose attempts have all failed for this long is switched off, and the site's
    # ADMINS are e-mailed (5 days).
    "WEBHOOK_DISABLE_AFTER_SECONDS": 5 * 24 * 60 * 60,
    # ``data.instanceId`` of ``wix``-format webhooks; empty: a fixed id derived for the site.
    "WEBHOOK_WIX_INSTANCE_ID": "",
    # Uploads (POST v2/attachments): the largest file accepted, in bytes (more: 413), and the
    # types accepted, as found by content sniffing (inbox.attachments.sniffing.SNIFFABLE_TYPES
    # lists those that can be: HTML, SVG and executables never can).
    "ATTACHMENT_MAX_BYTES": 25 * 1024 * 1024,
    "ATTACHMENT_ALLOWED_TYPES": (
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
    ),
    # The STORAGES alias files are written to: "default" is the file system under MEDIA_ROOT
    # unless the site says otherwise; S3 & co. through django-storages (README, "Attachments").
    "ATTACHMENT_STORAGE": "default",
    # Download links are signed and expire this many seconds after they were issued (Wix:
    # ``urlExpiration``, 10 hours).
    "ATTACHMENT_URL_MAX_AGE": 10 * 60 * 60,
    # Prepended to download links ("https://shop.example"), so that API clients get absolute
    # URLs; empty: links are paths on the site serving the API.
    "ATTACHMENT_URL_BASE": "",
    # An upload no message has named after this many seconds is deleted by
    # ``manage.py inbox_purge_attachments``.
    "ATTACHMENT_ORPHAN_SECONDS": 24 * 60 * 60,
    # Staff presence: an open staff page counts as online; its socket refreshes that every third
    # of this many seconds, and a socket whose process died stops counting after it (a closed
    # tab stops at once). Kept in Redis with the Redis layer, in the database otherwise.
    "PRESENCE_TTL_SECONDS": 15.0,
    # When the team works: {"mon": ["09:00-12:30", "13:30-17:00"], …} ("mon" … "sun"; a day not
    # named is closed), in BUSINESS_TIMEZONE (an IANA name; None: the site's TIME_ZONE). None:
    # always open. Outside them, with nobody online, the widget says "away, back at …".
    "BUSINESS_HOURS": None,
    "BUSINESS_TIMEZONE": None,
    # Within business hours with nobody online the widget says "we usually reply within …"
    # this many minutes (None: "we will reply as soon as we can").
    "REPLY_WITHIN_MINUTES": 60,
    # With nobody of the team online, a participant's message gets the away message as a reply,
    # at most once per conversation per day. AWAY_MESSAGE "" is ours (translated into the
    # participant's language); a site's own text may be a lazy translation.
    "AWAY_REPLY": False,
    "AWAY_MESSAGE": "",
    # E-mail notifications (inbox/notifications/; README, "Notifications"). Off until
    # NOTIFY_SITE_URL names where the site is served ("https://shop.example", no trailing
    # slash): e-mails link to it (the staff page, the unsubscribe page), so without it none is sent.
    "NOTIFY_SITE_URL": "",
    # A participant is e-mailed about business messages sent with sendNotifications it has not
    # seen this many seconds after the first of them; staff who opted in, about participant
    # messages no staff user has read this many seconds after the first of them.
    "NOTIFY_PARTICIPANT_AFTER": 120,
    "NOTIFY_STAFF_AFTER": 180,
    # Where a participant chats, linked from its e-mails: an absolute URL, or a path on
    # NOTIFY_SITE_URL; "{conversationId}" is replaced. Empty: the site's home page.
    "NOTIFY_CHAT_URL": "",
    # The sender of notification e-mails; None: DEFAULT_FROM_EMAIL.
    "NOTIFY_FROM_EMAIL": None,
    # Dotted path of a callable(participant) -> address or None. The default knows the e-mail of
    # a member whose Django user it holds; a site with contacts returns theirs (its CRM's).
    "NOTIFY_PARTICIPANT_EMAIL": "inbox.notifications.recipients.participant_email",
    # How many recent messages of the conversation an e-mail shows.
    "NOTIFY_THREAD_MESSAGES": 10,
    # Uploads per caller (DRF rate strings; None = no limit), by the caller's kind, on top of
    # THROTTLE_RATES. Over it: 429 (RESOURCE_EXHAUSTED) with Retry-After. Merged over these.
    "ATTACHMENT_UPLOAD_RATES": {
        "app": None,
        "staff": "60/min",
        "member": "20/min",
        "visitor": "20/min",
    },
    # Bytes one caller may upload within ATTACHMENT_QUOTA_WINDOW_SECONDS (None = no quota), by
    # the caller's kind, counting what it stored in that window (sent or not; purged orphans no
    # longer count). Over it: 429 (UPLOAD_QUOTA_EXCEEDED) with Retry-After. Merged over these.
    "ATTACHMENT_QUOTA_BYTES": {
        "app": None,
        "staff": None,
        "member": 200 * 1024 * 1024,
        "visitor": 200 * 1024 * 1024,
    },
    "ATTACHMENT_QUOTA_WINDOW_SECONDS": 24 * 60 * 60,
    # Images are also stored as a thumbnail that fits in a square of this many pixels (the
    # thread and the conversation list show it; a click opens the original).
    "ATTACHMENT_THUMBNAIL_SIZE": 320,
}


class InboxSettings:
    """Attribute access to ``settings.INBOX`` merged over ``DEFAULTS``, read on every access."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown inbox setting {name!r}")
        user_settings = getattr(settings, "INBOX", {}) or {}
        return user_settings.get(name, DEFAULTS[name])


inbox_settings = InboxSettings()


def merged_setting(name: str) -> dict[str, Any]:
    """A dict setting (``THROTTLE_RATES`` & co.): the site's entries merged over the defaults."""
    return {**DEFAULTS[name], **(getattr(inbox_settings, name) or {})}
