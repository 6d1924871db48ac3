"""Saved replies: texts staff insert from the composer, shared with every staff user or
personal to one (docs/staff-inbox.md)."""
