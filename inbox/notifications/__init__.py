"""E-mail notifications: participants about business messages they have not seen, staff about
participant messages nobody has read (README, "Notifications"; docs/architecture.md).

A send records what waits in ``models.NotificationThread`` and enqueues one delayed task per
conversation and audience, in the send's transaction (``services.notifications_message_sent``);
the task (``tasks.notify_conversation``) decides at its time, from the read cursors, whether and
whom to e-mail, and sends one e-mail per batch (``emails``). ``tokens`` and ``views`` are the
one-click unsubscribe (RFC 8058); ``selectors`` reads who may receive what.
"""
