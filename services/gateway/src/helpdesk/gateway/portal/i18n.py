"""The portal's words in Greek (first) and English.

Greek labels that the FAQ (`seed/helpdesk-faq.el.txt`) names are copied from it
verbatim — including its spelling — because users follow the FAQ word by word.
Those keys are listed in `FAQ_LABELS`; a unit test checks each against the seed.

Longer than our ~350-line module aim on purpose: it is a table of sentences,
and one table keeps each Greek sentence beside its English one.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from helpdesk.gateway.portal.i18n_agents import AGENTS_STRINGS
from helpdesk.gateway.portal.i18n_attachments import ATTACHMENT_STRINGS
from helpdesk.gateway.portal.i18n_factors import FACTOR_STRINGS
from helpdesk.gateway.portal.i18n_workspace import WORKSPACE_STRINGS

Lang = Literal["el", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)
DEFAULT_LANG: Lang = "el"

# The FAQ's own words, verbatim.
FAQ_LABELS: dict[str, str] = {
    "register_link": "Εγγραφή χρήστη",
    "register_button": "Εγγραφή",
    "registered_message": (
        "Ο λογαριασμός σας έχει δημιουργηθεί και έχει αποσταλεί σύνδεσμος ενεργοποίησης στη "
        "διεύθυνση ηλεκτρονικού ταχυδρομείου που εισάγατε. Σημειώστε πως, πριν μπορέσετε να "
        "συνδεθείτε, πρέπει να ενεργοποιήσετε το λογαριασμό ακολουθώντας το σύνδεσμο "
        "ενεργοποίησης στο email που σας στάλθηκε πρίν συνδεθείτε."
    ),
    "login_link": "Σύνδεση χρήστη",
    "login_heading": "Σύνδεση",
    "login_button": "Σύνδεση",
    "forgot_password_link": "Ξεχάσατε τον κωδικό σας;",
    "forgot_username_link": "Ξεχάσατε το όνομα χρήστη;",
    "enter_account_email": (
        "Παρακαλώ, εισάγετε τη διεύθυνση ηλεκτρονικού ταχυδρομείου που συνδέεται με το "
        "λογαριασμό σας."
    ),
    "submit_button": "Υποβολή",
    "username_label": "Όνομα σύνδεσης",
    "new_ticket_link": "Υποβολή αιτήματος",
}

_STRINGS: dict[str, dict[Lang, str]] = {
    # --- FAQ labels (Greek verbatim) -----------------------------------------------------
    "register_link": {"el": FAQ_LABELS["register_link"], "en": "User registration"},
    "register_button": {"el": FAQ_LABELS["register_button"], "en": "Register"},
    "registered_message": {
        "el": FAQ_LABELS["registered_message"],
        "en": (
            "Your account has been created and an activation link has been sent to the e-mail "
            "address you entered. Note that, before you can log in, you must activate the "
            "account by following the activation link in the e-mail that was sent to you."
        ),
    },
    "login_link": {"el": FAQ_LABELS["login_link"], "en": "User login"},
    "login_heading": {"el": FAQ_LABELS["login_heading"], "en": "Login"},
    "login_button": {"el": FAQ_LABELS["login_button"], "en": "Log in"},
    "forgot_password_link": {
        "el": FAQ_LABELS["forgot_password_link"],
        "en": "Forgot your password?",
    },
    "forgot_username_link": {
        "el": FAQ_LABELS["forgot_username_link"],
        "en": "Forgot your username?",
    },
    "enter_account_email": {
        "el": FAQ_LABELS["enter_account_email"],
        "en": "Please enter the e-mail address associated with your account.",
    },
    "submit_button": {"el": FAQ_LABELS["submit_button"], "en": "Submit"},
    "username_label": {"el": FAQ_LABELS["username_label"], "en": "Username"},
    "new_ticket_link": {"el": FAQ_LABELS["new_ticket_link"], "en": "Submit request"},
    # --- frame -----------------------------------------------------------------------------
    "site_name": {"el": "IPtech Helpdesk", "en": "IPtech Helpdesk"},
    "skip_to_content": {"el": "Μετάβαση στο περιεχόμενο", "en": "Skip to content"},
    "switch_language": {"el": "English", "en": "Ελληνικά"},
    "switch_language_label": {"el": "Switch to English", "en": "Αλλαγή σε Ελληνικά"},
    "main_nav": {"el": "Κύριο μενού", "en": "Main menu"},
    "home": {"el": "Αρχική", "en": "Home"},
    "my_tickets": {"el": "Τα αιτήματά μου", "en": "My requests"},
    "queue": {"el": "Ουρά αιτημάτων", "en": "Ticket queue"},
    "logout": {"el": "Αποσύνδεση", "en": "Log out"},
    "signed_in_as": {"el": "Συνδεδεμένος/η ως", "en": "Signed in as"},
    "home_title": {"el": "Σύστημα εξυπηρέτησης", "en": "Support desk"},
    "home_intro": {
        "el": "Υποβάλετε αιτήματα υποστήριξης και ερωτήματα και παρακολουθήστε την πορεία τους.",
        "en": "Submit support requests and questions and follow their progress.",
    },
    "home_priorities": {
        "el": "Τι προτεραιότητα να βάλω όταν δημιουργώ ένα αίτημα;",
        "en": "Which priority should I set when I create a request?",
    },
    # --- account forms -----------------------------------------------------------------------
    "name_label": {"el": "Ονοματεπώνυμο", "en": "Full name"},
    "email_label": {"el": "Διεύθυνση email", "en": "E-mail address"},
    "password_label": {"el": "Κωδικός σύνδεσης", "en": "Password"},
    "password_confirm_label": {"el": "Επιβεβαίωση κωδικού", "en": "Confirm password"},
    "new_password_label": {"el": "Νέος κωδικός σύνδεσης", "en": "New password"},
    "password_hint": {
        "el": "Τουλάχιστον 10 χαρακτήρες· όχι το όνομα σύνδεσης ή ένας πολύ κοινός κωδικός.",
        "en": "At least 10 characters; not your username or a very common password.",
    },
    "username_hint": {
        "el": "3 έως 64 χαρακτήρες: γράμματα (και ελληνικά), αριθμοί, '.', '_' και '-'.",
        "en": "3 to 64 characters: letters (Greek too), digits, '.', '_' and '-'.",
    },
    "language_label": {"el": "Γλώσσα επικοινωνίας", "en": "Language for e-mails"},
    "register_title": {"el": "Εγγραφή χρήστη", "en": "User registration"},
    "have_account": {"el": "Έχετε ήδη λογαριασμό;", "en": "Already have an account?"},
    "no_account": {"el": "Δεν έχετε λογαριασμό;", "en": "No account yet?"},
    "form_has_errors": {
        "el": "Η φόρμα έχει λάθη. Διορθώστε τα πεδία που επισημαίνονται.",
        "en": "The form has errors. Please correct the marked fields.",
    },
    "passwords_differ": {"el": "Οι δύο κωδικοί δεν ταιριάζουν.", "en": "The two passwords differ."},
    "required": {"el": "Το πεδίο είναι υποχρεωτικό.", "en": "This field is required."},
    "invalid_email": {
        "el": "Δεν είναι έγκυρη διεύθυνση email.",
        "en": "This is not a valid e-mail address.",
    },
    "username_taken": {
        "el": "Το όνομα σύνδεσης χρησιμοποιείται ήδη. Επιλέξτε άλλο.",
        "en": "This username is taken. Please choose another.",
    },
    "activate_title": {"el": "Ενεργοποίηση λογαριασμού", "en": "Account activation"},
    "activated": {
        "el": "Ο λογαριασμός σας ενεργοποιήθηκε. Μπορείτε τώρα να συνδεθείτε.",
        "en": "Your account is active. You can now log in.",
    },
    "already_active": {
        "el": "Ο λογαριασμός σας είναι ήδη ενεργός. Μπορείτε να συνδεθείτε.",
        "en": "Your account is already active. You can log in.",
    },
    "activate_intro": {
        "el": "Για να ενεργοποιήσετε το λογαριασμό, εισάγετε τον κωδικό που επιλέξατε κατά "
        "την εγγραφή.",
        "en": "To activate the account, enter the password you chose when you registered.",
    },
    "activate_button": {"el": "Ενεργοποίηση", "en": "Activate"},
    "activation_wrong_password": {
        "el": "Αυτός δεν είναι ο κωδικός που επιλέχθηκε κατά την εγγραφή.",
        "en": "This is not the password chosen at registration.",
    },
    "not_me_link": {
        "el": "Δεν έκανα εγώ αυτή την εγγραφή",
        "en": "I did not register this account",
    },
    "cancel_registration_title": {"el": "Ακύρωση εγγραφής", "en": "Cancel the registration"},
    "cancel_registration_intro": {
        "el": "Κάποιος δημιούργησε λογαριασμό με τη διεύθυνση email σας. Αν δεν ήσασταν εσείς, "
        "ακυρώστε την εγγραφή: ο λογαριασμός διαγράφεται και δεν μπορεί να ενεργοποιηθεί.",
        "en": "Someone created an account with your e-mail address. If it was not you, cancel "
        "the registration: the account is removed and can never be activated.",
    },
    "cancel_registration_button": {"el": "Ακύρωση της εγγραφής", "en": "Cancel the registration"},
    "registration_cancelled": {
        "el": "Η εγγραφή ακυρώθηκε. Δεν θα λάβετε άλλα μηνύματα γι' αυτήν.",
        "en": "The registration has been cancelled. You will get no more mail about it.",
    },
    "invalid_token": {
        "el": "Ο σύνδεσμος δεν είναι έγκυρος ή έχει λήξει.",
        "en": "This link is not valid or has expired.",
    },
    "resend_activation_title": {
        "el": "Νέος σύνδεσμος ενεργοποίησης",
        "en": "New activation link",
    },
    "resend_activation_link": {
        "el": "Αποστολή νέου συνδέσμου ενεργοποίησης",
        "en": "Send a new activation link",
    },
    "resend_activation_sent": {
        "el": "Αν υπάρχει λογαριασμός σε αναμονή ενεργοποίησης με αυτή τη διεύθυνση, "
        "στάλθηκε νέος σύνδεσμος ενεργοποίησης.",
        "en": "If an account awaiting activation has this address, a new activation link "
        "has been sent.",
    },
    "invalid_credentials": {
        "el": "Λάθος όνομα σύνδεσης ή κωδικός.",
        "en": "Wrong username or password.",
    },
    "account_not_activated": {
        "el": "Ο λογαριασμός σας δεν έχει ενεργοποιηθεί ακόμη. Ακολουθήστε το σύνδεσμο "
        "ενεργοποίησης στο email που σας στάλθηκε.",
        "en": "Your account is not activated yet. Follow the activation link in the e-mail "
        "we sent you.",
    },
    "rate_limited": {
        "el": "Πολλές προσπάθειες. Δοκιμάστε ξανά σε {seconds} δευτερόλεπτα.",
        "en": "Too many attempts. Please try again in {seconds} seconds.",
    },
    "forgot_password_title": {"el": "Ξεχάσατε τον κωδικό σας;", "en": "Forgot your password?"},
    "forgot_username_title": {"el": "Ξεχάσατε το όνομα χρήστη;", "en": "Forgot your username?"},
    "recovery_sent": {
        "el": "Αν η διεύθυνση ανήκει σε λογαριασμό, στάλθηκε email με οδηγίες. Ελέγξτε το "
        "ηλεκτρονικό σας ταχυδρομείο σε λίγα λεπτά.",
        "en": "If the address belongs to an account, an e-mail with instructions has been "
        "sent. Check your mailbox in a few minutes.",
    },
    "reset_password_title": {"el": "Ορισμός νέου κωδικού", "en": "Set a new password"},
    "password_changed": {
        "el": "Ο κωδικός σας άλλαξε. Συνδεθείτε με το νέο κωδικό.",
        "en": "Your password has been changed. Log in with the new password.",
    },
    "logged_out": {"el": "Αποσυνδεθήκατε.", "en": "You have logged out."},
    "login_required": {
        "el": "Συνδεθείτε για να συνεχίσετε.",
        "en": "Please log in to continue.",
    },
    # --- tickets ---------------------------------------------------------------------------
    "new_ticket_title": {"el": "Υποβολή αιτήματος", "en": "Submit a request"},
    "subject_label": {"el": "Θέμα", "en": "Subject"},
    "description_label": {"el": "Περιγραφή", "en": "Description"},
    "description_hint": {
        "el": "Τι συμβαίνει, από πότε, τι δοκιμάσατε, ποιοι επηρεάζονται.",
        "en": "What happens, since when, what you tried, who is affected.",
    },
    "priority_label": {"el": "Προτεραιότητα", "en": "Priority"},
    "category_label": {"el": "Κατηγορία", "en": "Category"},
    "category_none": {"el": "— Χωρίς κατηγορία —", "en": "— No category —"},
    "ticket_submitted": {
        "el": "Το αίτημά σας υποβλήθηκε.",
        "en": "Your request has been submitted.",
    },
    "no_tickets": {"el": "Δεν υπάρχουν αιτήματα.", "en": "There are no requests."},
    "number": {"el": "Αριθμός", "en": "Number"},
    "status": {"el": "Κατάσταση", "en": "Status"},
    "assignee": {"el": "Υπεύθυνος", "en": "Assignee"},
    "requester": {"el": "Αιτών", "en": "Requester"},
    "queue_label": {"el": "Ουρά", "en": "Queue"},
    "created": {"el": "Δημιουργήθηκε", "en": "Created"},
    "updated": {"el": "Ενημερώθηκε", "en": "Updated"},
    "first_response_due": {"el": "Πρώτη απάντηση έως", "en": "First response due"},
    "resolution_due": {"el": "Επίλυση έως", "en": "Resolution due"},
    "overdue": {"el": "εκπρόθεσμο", "en": "overdue"},
    "unassigned": {"el": "Χωρίς υπεύθυνο", "en": "Unassigned"},
    "mine": {"el": "Δικά μου", "en": "Mine"},
    "all": {"el": "Όλα", "en": "All"},
    "filter": {"el": "Φίλτρο", "en": "Filter"},
    "any": {"el": "Όλες", "en": "Any"},
    "next_page": {"el": "Επόμενη σελίδα", "en": "Next page"},
    "timeline": {"el": "Ιστορικό", "en": "Timeline"},
    "reply": {"el": "Απάντηση", "en": "Reply"},
    "reply_label": {"el": "Το μήνυμά σας", "en": "Your message"},
    "send_reply": {"el": "Αποστολή απάντησης", "en": "Send reply"},
    "internal_note": {"el": "Εσωτερική σημείωση", "en": "Internal note"},
    "internal_hint": {
        "el": "Ορατή μόνο στους τεχνικούς",
        "en": "Visible to agents only",
    },
    "close_ticket": {"el": "Κλείσιμο αιτήματος", "en": "Close request"},
    "change_status": {"el": "Αλλαγή κατάστασης", "en": "Change status"},
    "change_priority": {"el": "Αλλαγή προτεραιότητας", "en": "Change priority"},
    "assign_to_me": {"el": "Ανάθεση σε εμένα", "en": "Assign to me"},
    "take_over": {"el": "Ανάληψη από άλλον", "en": "Take over"},
    "save": {"el": "Αποθήκευση", "en": "Save"},
    "saved": {"el": "Οι αλλαγές αποθηκεύτηκαν.", "en": "Changes saved."},
    "reply_sent": {"el": "Η απάντηση στάλθηκε.", "en": "Your reply has been sent."},
    "note_added": {"el": "Η σημείωση προστέθηκε.", "en": "The note has been added."},
    "ticket_closed_notice": {
        "el": "Το αίτημα έχει κλείσει.",
        "en": "This request is closed.",
    },
    "actions": {"el": "Ενέργειες", "en": "Actions"},
    "agent": {"el": "Τεχνικός", "en": "Agent"},
    "you": {"el": "εσείς", "en": "you"},
    "someone": {"el": "Σύστημα", "en": "System"},
    # --- search and reports (docs/search.md, docs/reports.md) ------------------------------
    "search": {"el": "Αναζήτηση", "en": "Search"},
    "search_label": {"el": "Αναζήτηση αιτημάτων", "en": "Search requests"},
    "search_placeholder": {
        "el": "λέξεις, μέρος λέξης ή αριθμός αιτήματος",
        "en": "words, part of a word or a request number",
    },
    "search_results_for": {"el": "Αποτελέσματα για", "en": "Results for"},
    "no_results": {
        "el": "Δεν βρέθηκαν αιτήματα για αυτή την αναζήτηση.",
        "en": "No requests match this search.",
    },
    "clear_search": {"el": "Καθαρισμός αναζήτησης", "en": "Clear search"},
    "as_of_label": {"el": "Κατάσταση στις", "en": "As of"},
    "as_of_showing": {"el": "Η ουρά όπως ήταν στις", "en": "The queue as it was at"},
    "reports": {"el": "Αναφορές SLA", "en": "SLA reports"},
    "report_from": {"el": "Από", "en": "From"},
    "report_to": {"el": "Έως (χωρίς)", "en": "To (exclusive)"},
    "group_by": {"el": "Ομαδοποίηση", "en": "Group by"},
    "group_priority": {"el": "Προτεραιότητα", "en": "Priority"},
    "group_queue": {"el": "Ουρά", "en": "Queue"},
    "group_agent": {"el": "Τεχνικός", "en": "Agent"},
    "show_report": {"el": "Προβολή", "en": "Show"},
    "download_csv": {"el": "Λήψη CSV", "en": "Download CSV"},
    "report_group": {"el": "Ομάδα", "en": "Group"},
    "report_total": {"el": "Σύνολο", "en": "Total"},
    "report_opened": {"el": "Νέα", "en": "Opened"},
    "report_resolved": {"el": "Επιλυμένα", "en": "Resolved"},
    "report_fr_met": {"el": "Πρώτη απάντηση εντός SLA", "en": "First response met"},
    "report_res_met": {"el": "Επίλυση εντός SLA", "en": "Resolution met"},
    "report_fr_times": {
        "el": "Πρώτη απάντηση, διάμεσος / p90 (λεπτά SLA)",
        "en": "First response, median / p90 (SLA minutes)",
    },
    "report_res_times": {
        "el": "Επίλυση, διάμεσος / p90 (λεπτά SLA)",
        "en": "Resolution, median / p90 (SLA minutes)",
    },
    "report_backlog": {"el": "Εκκρεμή", "en": "Backlog"},
    "report_breaches": {"el": "Υπερβάσεις SLA", "en": "SLA breaches"},
    "report_escalations": {"el": "Κλιμακώσεις", "en": "Escalations"},
    "report_minutes_note": {
        "el": "Οι χρόνοι μετρούν εργάσιμα λεπτά (Δευ–Παρ 09:00–17:00, εκτός αργιών) για "
        "τις προτεραιότητες με ωράριο, και πραγματικά λεπτά για τις 24/7.",
        "en": "Times count business minutes (Mon–Fri 09:00–17:00, public holidays off) "
        "for priorities on business hours, and wall-clock minutes for 24/7 ones.",
    },
    "chart_opened_resolved": {"el": "Νέα και επιλυμένα", "en": "Opened and resolved"},
    "chart_met": {"el": "Εντός SLA (%)", "en": "Targets met (%)"},
    "chart_backlog_age": {"el": "Εκκρεμή ανά ηλικία", "en": "Backlog by age"},
    "age_under_1d": {"el": "< 1 ημέρα", "en": "< 1 day"},
    "age_1d_3d": {"el": "1–3 ημέρες", "en": "1–3 days"},
    "age_3d_7d": {"el": "3–7 ημέρες", "en": "3–7 days"},
    "age_7d_30d": {"el": "7–30 ημέρες", "en": "7–30 days"},
    "age_over_30d": {"el": "> 30 ημέρες", "en": "> 30 days"},
    "no_report_data": {
        "el": "Δεν υπάρχουν αιτήματα σε αυτή την περίοδο.",
        "en": "There are no requests in this period.",
    },
    # --- timeline entry kinds ----------------------------------------------------------------
    "TicketSubmitted": {"el": "Υποβολή αιτήματος", "en": "Request submitted"},
    "TicketMessageAdded": {"el": "Μήνυμα", "en": "Message"},
    "TicketStatusChanged": {"el": "Αλλαγή κατάστασης", "en": "Status changed"},
    "TicketPriorityChanged": {"el": "Αλλαγή προτεραιότητας", "en": "Priority changed"},
    "TicketAssigned": {"el": "Ανάθεση", "en": "Assigned"},
    "TicketSlaWarning": {"el": "Προειδοποίηση SLA", "en": "SLA warning"},
    "TicketSlaBreached": {"el": "Υπέρβαση SLA", "en": "SLA breached"},
    "TicketEscalated": {"el": "Κλιμάκωση", "en": "Escalated"},
    # --- statuses ----------------------------------------------------------------------------
    "status_submitted": {"el": "Υποβλήθηκε", "en": "Submitted"},
    "status_open": {"el": "Ανοιχτό", "en": "Open"},
    "status_pending": {"el": "Σε αναμονή απάντησής σας", "en": "Waiting for requester"},
    "status_resolved": {"el": "Επιλύθηκε", "en": "Resolved"},
    "status_closed": {"el": "Κλειστό", "en": "Closed"},
    # --- error pages ---------------------------------------------------------------------------
    "error_404_title": {"el": "Η σελίδα δεν βρέθηκε", "en": "Page not found"},
    "error_404_text": {
        "el": "Η σελίδα που ζητήσατε δεν υπάρχει ή δεν έχετε πρόσβαση σε αυτήν.",
        "en": "The page you asked for does not exist or is not yours to see.",
    },
    "error_403_title": {"el": "Δεν επιτρέπεται", "en": "Not allowed"},
    "error_403_text": {
        "el": "Δεν έχετε δικαίωμα για αυτή την ενέργεια.",
        "en": "You are not allowed to do this.",
    },
    "error_csrf_text": {
        "el": "Η φόρμα έληξε ή δεν στάλθηκε από αυτή τη σελίδα. Επιστρέψτε, ανανεώστε τη "
        "σελίδα και δοκιμάστε ξανά.",
        "en": "The form has expired or did not come from this site. Go back, reload the "
        "page and try again.",
    },
    "error_409_title": {"el": "Η ενέργεια δεν έγινε", "en": "That did not work"},
    "error_409_text": {
        "el": "Η κατάσταση του αιτήματος δεν επιτρέπει αυτή την ενέργεια.",
        "en": "The state of the request does not allow this.",
    },
    "error_422_title": {"el": "Μη έγκυρα στοιχεία", "en": "Invalid input"},
    "error_422_text": {
        "el": "Κάποια από τα στοιχεία που στείλατε δεν είναι έγκυρα (για παράδειγμα, είναι "
        "πολύ μεγάλα). Επιστρέψτε, διορθώστε τα και δοκιμάστε ξανά.",
        "en": "Some of what you sent is not valid (too long, for example). "
        "Go back, correct it and try again.",
    },
    "error_429_title": {"el": "Πολλά αιτήματα", "en": "Too many requests"},
    "error_429_text": {
        "el": "Κάνατε πολλές προσπάθειες σε λίγο χρόνο. Δοκιμάστε ξανά σε λίγο.",
        "en": "You made many attempts in a short time. Please try again shortly.",
    },
    "error_503_title": {"el": "Προσωρινά μη διαθέσιμο", "en": "Temporarily unavailable"},
    "error_503_text": {
        "el": "Η υπηρεσία είναι προσωρινά μη διαθέσιμη. Δοκιμάστε ξανά σε λίγα δευτερόλεπτα.",
        "en": "The helpdesk is briefly unavailable. Please try again in a few seconds.",
    },
    "error_500_title": {"el": "Κάτι πήγε στραβά", "en": "Something went wrong"},
    "error_500_text": {
        "el": "Παρουσιάστηκε σφάλμα σε εμάς. Δοκιμάστε ξανά· αν επιμένει, επικοινωνήστε μαζί μας.",
        "en": "Something went wrong on our side. Please try again; if it persists, contact us.",
    },
    "error_reference": {"el": "Κωδικός αναφοράς", "en": "Reference"},
    "back_home": {"el": "Επιστροφή στην αρχική", "en": "Back to the home page"},
}
_STRINGS.update(ATTACHMENT_STRINGS)  # type: ignore[arg-type]
_STRINGS.update(AGENTS_STRINGS)  # type: ignore[arg-type]
_STRINGS.update(FACTOR_STRINGS)  # type: ignore[arg-type]
_STRINGS.update(WORKSPACE_STRINGS)  # type: ignore[arg-type]


def t(key: str, lang: Lang) -> str:
    """The text of `key` in `lang`; a missing key shows itself (and fails the unit test)."""
    entry = _STRINGS.get(key)
    return entry[lang] if entry else key


def keys() -> list[str]:
    return list(_STRINGS)


def entries() -> dict[str, dict[Lang, str]]:
    return _STRINGS


def lang_or_none(value: str | None) -> Lang | None:
    return value if value in LANGS else None  # type: ignore[return-value]


def preferred_lang(accept_language: str | None) -> Lang:
    """Greek first: English only when the browser prefers it over Greek."""
    if not accept_language:
        return DEFAULT_LANG
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGS:
            return tag  # type: ignore[return-value]
    return DEFAULT_LANG


# The identity service explains bad input in English; these are its known phrasings.
_FIELD_MESSAGES_EL: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"must be at least (\d+) characters long"),
        "Πρέπει να έχει τουλάχιστον {0} χαρακτήρες.",
    ),
    (
        re.compile(r"must be at most (\d+) characters long"),
        "Πρέπει να έχει το πολύ {0} χαρακτήρες.",
    ),
    (
        re.compile(r"must be (\d+) to (\d+) characters long"),
        "Πρέπει να έχει από {0} έως {1} χαρακτήρες.",
    ),
    (
        re.compile(r"may contain only letters"),
        "Επιτρέπονται μόνο γράμματα (και ελληνικά), αριθμοί, '.', '_' και '-'.",
    ),
    (
        re.compile(r"must not be your username or e-mail"),
        "Δεν πρέπει να είναι το όνομα σύνδεσης ή το email σας.",
    ),
    (re.compile(r"is too common"), "Είναι πολύ κοινός κωδικός· επιλέξτε άλλον."),
    (
        re.compile(r"must not be blank|field required", re.IGNORECASE),
        "Το πεδίο είναι υποχρεωτικό.",
    ),
    (
        re.compile(r"not a valid email|valid email address", re.IGNORECASE),
        "Δεν είναι έγκυρη διεύθυνση email.",
    ),
    (re.compile(r"control characters"), "Περιέχει μη επιτρεπτούς χαρακτήρες."),
    (re.compile(r"at most (\d+) characters"), "Πρέπει να έχει το πολύ {0} χαρακτήρες."),
    (re.compile(r"already taken|is taken"), "Χρησιμοποιείται ήδη. Επιλέξτε άλλο."),
]


def field_message(message: str, lang: Lang) -> str:
    """A field error from a service, in the page's language when we know its phrasing."""
    if lang == "en":
        return message[:1].upper() + message[1:] if message else message
    for pattern, greek in _FIELD_MESSAGES_EL:
        found = pattern.search(message)
        if found:
            return greek.format(*found.groups())
    return message
