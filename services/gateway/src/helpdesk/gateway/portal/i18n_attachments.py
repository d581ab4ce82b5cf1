"""The portal's words for attachments, Greek first (merged into `i18n._STRINGS`)."""

from __future__ import annotations

ATTACHMENT_STRINGS: dict[str, dict[str, str]] = {
    "attachments": {"el": "Συνημμένα", "en": "Attachments"},
    "attach_files": {"el": "Συνημμένα αρχεία", "en": "Attach files"},
    "attach_hint": {
        "el": "Στιγμιότυπα οθόνης, αρχεία καταγραφής (log), PDF κ.ά.: έως {size} MB ανά αρχείο, "
        "έως {count} αρχεία. Τα μεταδεδομένα των εικόνων (EXIF, τοποθεσία) αφαιρούνται.",
        "en": "Screenshots, log files, PDFs and the like: up to {size} MB per file, "
        "at most {count} files. Image metadata (EXIF, location) is removed.",
    },
    "no_attachments": {"el": "Δεν υπάρχουν συνημμένα.", "en": "No attachments."},
    "attachment_removed_label": {"el": "αφαιρέθηκε", "en": "removed"},
    "remove_attachment": {"el": "Αφαίρεση", "en": "Remove"},
    "remove_reason": {"el": "Λόγος αφαίρεσης", "en": "Reason for removal"},
    "attachment_removed": {"el": "Το συνημμένο αφαιρέθηκε.", "en": "The attachment was removed."},
    "download": {"el": "Λήψη", "en": "Download"},
    "preview_of": {"el": "Προεπισκόπηση: {name}", "en": "Preview: {name}"},
    "TicketAttachmentsAdded": {"el": "Συνημμένα αρχεία", "en": "Files attached"},
    "TicketAttachmentRemoved": {"el": "Αφαίρεση συνημμένου", "en": "Attachment removed"},
    "TicketAttachmentsRefused": {"el": "Αρχεία που δεν προστέθηκαν", "en": "Files not added"},
    # Why a mailed-in file was not added (RefusedFile.code), beside the upload codes below.
    "ticket_closed": {
        "el": "Το αίτημα είναι κλειστό.",
        "en": "The request is closed.",
    },
    # Refusals of an upload (problem codes), shown at the top of the form.
    "file_too_large": {
        "el": "Ένα αρχείο είναι μεγαλύτερο από το επιτρεπτό όριο.",
        "en": "A file is larger than the limit.",
    },
    "payload_too_large": {
        "el": "Τα αρχεία είναι συνολικά μεγαλύτερα από το επιτρεπτό όριο.",
        "en": "The files are larger than the limit in total.",
    },
    "unsupported_type": {
        "el": "Αυτό το είδος αρχείου δεν γίνεται δεκτό (π.χ. εκτελέσιμα προγράμματα).",
        "en": "This kind of file is not accepted (executables, for example).",
    },
    "ticket_attachments_full": {
        "el": "Το αίτημα έχει φτάσει το όριο συνολικού μεγέθους συνημμένων.",
        "en": "The request has reached its total size limit for attachments.",
    },
    "image_too_large": {
        "el": "Η εικόνα έχει υπερβολικά πολλά pixel.",
        "en": "The image has too many pixels.",
    },
    "damaged_image": {"el": "Η εικόνα δεν μπορεί να διαβαστεί.", "en": "The image cannot be read."},
    "empty_file": {"el": "Το αρχείο είναι κενό.", "en": "The file is empty."},
    "too_many_files": {"el": "Πάρα πολλά αρχεία μαζί.", "en": "Too many files at once."},
    "malware_found": {
        "el": "Ο έλεγχος για κακόβουλο λογισμικό απέρριψε ένα αρχείο.",
        "en": "The malware scan refused a file.",
    },
}
