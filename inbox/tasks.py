"""The app's task outside any capability: the doctor's probe (``inbox/doctor.py``)."""

from __future__ import annotations

from django_tasks import task


@task()
def doctor_probe(nonce: str) -> str:
    """Run by a worker to prove one is alive and taking tasks; returns what it was given."""
    return nonce
