"""Receiving attachments: type sniffing and names (`files`), image cleaning
(`images`), the optional malware scan (`clamd`) and the steps from a received
file to stored bytes (`pipeline`). Storage itself is `helpdesk.servicekit.blobs`."""

from helpdesk.servicekit.attachments.files import FileRefused
from helpdesk.servicekit.attachments.pipeline import (
    Prepared,
    from_bytes,
    prepare,
    store,
    thumbnail_name,
)

__all__ = ["FileRefused", "Prepared", "from_bytes", "prepare", "store", "thumbnail_name"]
