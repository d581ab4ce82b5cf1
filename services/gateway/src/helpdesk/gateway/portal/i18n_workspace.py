"""The portal's words for the end of a ticket (reopen, confirmed close, rating),
issue 29, Greek first (merged into `i18n._STRINGS`)."""

from __future__ import annotations

WORKSPACE_STRINGS: dict[str, dict[str, str]] = {
    # Reopening (the requester, within the window)
    "reopen_ticket": {"el": "Άνοιγμα ξανά", "en": "Reopen"},
    "reopen_reason": {"el": "Τι δεν λύθηκε; (προαιρετικό)", "en": "What is not solved? (optional)"},
    "reopen_until": {
        "el": "Μπορείτε να το ανοίξετε ξανά έως {time}.",
        "en": "You can reopen it until {time}.",
    },
    "reopened": {"el": "Το αίτημα άνοιξε ξανά.", "en": "The request is open again."},
    "auto_close_at": {
        "el": "Αν δεν ανοιχτεί ξανά, θα κλείσει αυτόματα στις {time}.",
        "en": "Unless it is reopened, it closes by itself on {time}.",
    },
    # Closing, confirmed
    "confirm_close_title": {
        "el": "Κλείσιμο του αιτήματος {number};",
        "en": "Close request {number}?",
    },
    "confirm_close_text": {
        "el": "Ένα κλειστό αίτημα δεν ανοίγει ξανά και δεν δέχεται απαντήσεις. "
        "Για ένα νέο πρόβλημα θα χρειαστεί νέο αίτημα.",
        "en": "A closed request cannot be reopened and takes no more replies. "
        "A new problem will need a new request.",
    },
    "confirm_close_button": {"el": "Ναι, κλείσιμο του αιτήματος", "en": "Yes, close the request"},
    "cancel_close": {"el": "Όχι, πίσω στο αίτημα", "en": "No, back to the request"},
    # Satisfaction
    "rate_heading": {"el": "Πώς τα πήγαμε;", "en": "How did we do?"},
    "rate_legend": {
        "el": "Βαθμολογία (1 = καθόλου ικανοποιημένος/η, 5 = πολύ ικανοποιημένος/η)",
        "en": "Rating (1 = not at all satisfied, 5 = very satisfied)",
    },
    "rate_comment": {"el": "Σχόλιο (προαιρετικό)", "en": "Comment (optional)"},
    "rate_button": {"el": "Αποστολή βαθμολογίας", "en": "Send rating"},
    "rated_thanks": {
        "el": "Ευχαριστούμε για τη βαθμολογία σας.",
        "en": "Thank you for your rating.",
    },
    "rating_required": {
        "el": "Επιλέξτε βαθμολογία από 1 έως 5.",
        "en": "Choose a rating from 1 to 5.",
    },
    "TicketRated": {"el": "Βαθμολογία εξυπηρέτησης", "en": "Service rated"},
    "rating_of_5": {"el": "{rating} από 5", "en": "{rating} out of 5"},
    # Refusals, in the reader's language (not the service's English)
    "invalid_transition": {
        "el": "Αυτή η αλλαγή δεν επιτρέπεται στην τωρινή κατάσταση του αιτήματος "
        "(για παράδειγμα, πέρασε το διάστημα μέσα στο οποίο ανοίγει ξανά).",
        "en": "That change is not allowed in the request's current state "
        "(for example, the time within which it can be reopened has passed).",
    },
    "conflict": {
        "el": "Αυτό έχει ήδη γίνει ή το αίτημα άλλαξε στο μεταξύ (για παράδειγμα, "
        "έχετε ήδη βαθμολογήσει αυτή την επίλυση).",
        "en": "This was done already or the request changed meanwhile (for example, "
        "you have already rated this resolution).",
    },
    # On behalf, and the requester's context
    "on_behalf_label": {
        "el": "Για λογαριασμό του/της (όνομα χρήστη ή e-mail, προαιρετικό)",
        "en": "On behalf of (username or e-mail, optional)",
    },
    "on_behalf_hint": {
        "el": "Για υπάλληλο που τηλεφώνησε ή ήρθε από κοντά· λαμβάνει την ίδια επιβεβαίωση.",
        "en": "For an employee who phoned or walked in; they get the usual confirmation.",
    },
    "requester_context": {"el": "Ο αιτών", "en": "The requester"},
    "email": {"el": "E-mail", "en": "E-mail"},
    "channel": {"el": "Κανάλι", "en": "Channel"},
    "channel_portal": {"el": "Πύλη", "en": "Portal"},
    "channel_mail": {"el": "E-mail", "en": "Mail"},
    "channel_agent": {"el": "Από πράκτορα για λογαριασμό του", "en": "By an agent on their behalf"},
    "opened_by": {"el": "Άνοιξε από", "en": "Opened by"},
    "requester_open_tickets": {"el": "Ανοιχτά αιτήματά του/της", "en": "Their open requests"},
    "requester_recent_tickets": {"el": "Πρόσφατα αιτήματά του/της", "en": "Their recent requests"},
    "none_other": {"el": "Κανένα άλλο.", "en": "None other."},
    # The composer
    "unchanged": {"el": "Χωρίς αλλαγή", "en": "Unchanged"},
    "reply_and_pending": {
        "el": "Απάντηση και αναμονή απάντησης του αιτούντος",
        "en": "Reply and wait for the requester",
    },
    "reply_and_resolved": {"el": "Απάντηση και επίλυση", "en": "Reply and resolve"},
    # Live pages
    "live_new_reply": {"el": "Νέα απάντηση στο αίτημα.", "en": "New reply on this request."},
    "live_changed": {"el": "Το αίτημα άλλαξε.", "en": "This request has changed."},
    "live_show": {"el": "Εμφάνιση", "en": "Show"},
    # The SLA report
    "report_ratings": {"el": "Βαθμολογίες (μέσος όρος)", "en": "Ratings (average)"},
}
