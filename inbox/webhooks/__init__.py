"""Webhooks: events delivered to the site's endpoints, at least once, per Standard Webhooks.

``models`` holds endpoints, deliveries (one per event and endpoint) and their attempts;
``services`` every write (endpoints, the fan-out from the outbox, one delivery attempt);
``selectors`` the reads; ``signing`` the Standard Webhooks headers; ``destinations`` the SSRF
guard; ``tasks`` the task the worker (``manage.py db_worker``) runs per attempt.
"""
