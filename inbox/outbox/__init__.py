"""The transactional outbox: every event, recorded in the transaction of the write that causes it.

``models.OutboxEvent`` is the one durable record of an event (its id is the envelope's id, so one
event has one id on sockets, webhooks and anywhere else that reads it). ``services`` writes and
marks rows, ``selectors`` reads the ones still to publish, ``relay`` publishes what a crashed
process left unpublished (``manage.py inbox_relay``; docs/reliability.md).
"""
