"""Staff presence, business hours and the availability the widget shows (issue 16).

Presence is written by the business stream's consumer for every staff socket (a heartbeat with a
TTL, in Redis when the channel layer is Redis, in the database otherwise: never process memory,
so every process and device agrees); availability combines it with the business hours of the
``INBOX`` settings; the away auto-reply is sent from a participant's send."""
