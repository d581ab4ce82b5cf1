"""What every service does when a person is erased (issue 30, docs/privacy.md).

Identity destroys the person's key and publishes `PersonalDataErased`. From that
moment nothing new of theirs can be opened, but a process may still hold their
key in its cache (`HELPDESK_PRIVACY_KEY_CACHE_SECONDS`) and be opening an event of
theirs right now. So a service's erasure handler

1. forgets the person's keys in this process at once (`forget_keys`), and
2. scrubs its plaintext copies only once every cache in every replica has
   expired (`wait_for_key_caches`, which raises `NotYet`: the kit redelivers the
   event after that delay, without counting it as a failure). Whatever an
   in-flight handler wrote from the opened data before then is scrubbed too;
   whatever runs after it sees the fields' erased values.

A handler of `PersonalDataErased` therefore starts with both calls, then deletes
or blanks what it holds of `event.user_id` (and of `event.key_ids`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from helpdesk.servicekit import keystore

# Beyond the cache's lifetime: for a handler that opened data just before the
# key went to finish writing it.
MARGIN_SECONDS = 5.0


class NotYet(Exception):
    """Raised by an event handler: handle this event again in `delay` seconds
    (not a failure: no back-off, never a dead letter)."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"not before {delay:.1f} s")
        self.delay = delay


def forget_keys(person_id: UUID) -> None:
    """Drop the person's cached keys in this process."""
    keystore.forget(person_id)


def wait_for_key_caches(erased_at: datetime, now: datetime, cache_seconds: float) -> None:
    """Return once no process can still hold the erased person's key; else NotYet."""
    ready = erased_at + timedelta(seconds=cache_seconds + MARGIN_SECONDS)
    if now < ready:
        raise NotYet((ready - now).total_seconds())
