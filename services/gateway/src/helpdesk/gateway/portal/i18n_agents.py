"""The portal's words for the agents' workflow (queues, availability) and the
admins' user administration, Greek first (merged into `i18n._STRINGS`)."""

from __future__ import annotations

AGENTS_STRINGS: dict[str, dict[str, str]] = {
    # Navigation
    "queues_link": {"el": "Ουρές", "en": "Queues"},
    "users_link": {"el": "Χρήστες", "en": "Users"},
    # Availability (header toggle and its page)
    "availability": {"el": "Διαθεσιμότητα", "en": "Availability"},
    "available_now": {"el": "Διαθέσιμος/η", "en": "Available"},
    "away_now": {"el": "Εκτός", "en": "Away"},
    "away_until": {"el": "Εκτός έως {time}", "en": "Away until {time}"},
    "go_away": {"el": "Δηλώνω απουσία", "en": "Go away"},
    "come_back": {"el": "Επέστρεψα", "en": "I'm back"},
    "back_at": {"el": "Επιστροφή", "en": "Back at"},
    "invalid_back_at": {
        "el": "Γράψτε ημερομηνία και ώρα (π.χ. 2026-12-01T09:00).",
        "en": "Enter a date and time (e.g. 2026-12-01T09:00).",
    },
    "hand_back": {
        "el": "Επιστροφή των ανοιχτών μου αιτημάτων στις ουρές (απουσία πάνω από μία ημέρα)",
        "en": "Give my open tickets back to their queues (away for more than a day)",
    },
    "availability_hint": {
        "el": "Όσο είστε εκτός δεν σας ανατίθενται αυτόματα νέα αιτήματα. "
        "Η ώρα επιστροφής είναι ενημερωτική για τους συναδέλφους.",
        "en": "While you are away no new tickets are assigned to you automatically. "
        "The time you are back at is shown to colleagues.",
    },
    "availability_saved": {
        "el": "Η διαθεσιμότητά σας αποθηκεύτηκε.",
        "en": "Your availability was saved.",
    },
    "handed_back_count": {
        "el": "Επιστράφηκαν στις ουρές {count} αιτήματα.",
        "en": "{count} tickets were given back to their queues.",
    },
    # Queues
    "queues_title": {"el": "Ουρές και μέλη", "en": "Queues and members"},
    "queues_intro": {
        "el": "Οι ουρές ορίζονται από την πολιτική δρομολόγησης. "
        "Οι διαχειριστές ορίζουν ποιοι πράκτορες εξυπηρετούν κάθε ουρά.",
        "en": "Queues come from the routing policy. Admins set which agents work each queue.",
    },
    "assignment_policy": {"el": "Ανάθεση", "en": "Assignment"},
    "policy_manual": {"el": "χειροκίνητη", "en": "manual"},
    "policy_round_robin": {"el": "εκ περιτροπής", "en": "round robin"},
    "policy_least_open": {
        "el": "στον λιγότερο φορτωμένο",
        "en": "fewest open tickets",
    },
    "queue_priorities": {"el": "Προτεραιότητες", "en": "Priorities"},
    "members": {"el": "Μέλη", "en": "Members"},
    "no_members": {"el": "Κανένα μέλος.", "en": "No members."},
    "member": {"el": "Πράκτορας", "en": "Agent"},
    "open_tickets": {"el": "Ανοιχτά αιτήματα", "en": "Open tickets"},
    "member_usernames": {
        "el": "Ονόματα χρήστη των μελών",
        "en": "Members' usernames",
    },
    "member_usernames_hint": {
        "el": "Ένα ή περισσότερα, χωρισμένα με κενό, κόμμα ή αλλαγή γραμμής. "
        "Κενό πεδίο: η ουρά μένει χωρίς μέλη.",
        "en": "One or more, separated by spaces, commas or new lines. "
        "Empty: the queue has no members.",
    },
    "save_members": {"el": "Αποθήκευση μελών", "en": "Save members"},
    "members_saved": {
        "el": "Τα μέλη της ουράς αποθηκεύτηκαν.",
        "en": "The queue's members were saved.",
    },
    "unknown_username": {
        "el": "Δεν υπάρχει χρήστης με όνομα χρήστη «{name}».",
        "en": "There is no user with the username “{name}”.",
    },
    "not_an_agent": {
        "el": "Ο χρήστης «{name}» δεν είναι ενεργός πράκτορας.",
        "en": "The user “{name}” is not an active agent.",
    },
    "too_many_members": {
        "el": "Το πολύ {count} μέλη ανά ουρά.",
        "en": "At most {count} members per queue.",
    },
    # Users
    "users_title": {"el": "Διαχείριση χρηστών", "en": "User administration"},
    "search_users": {"el": "Αναζήτηση χρηστών", "en": "Search users"},
    "search_users_hint": {
        "el": "Αρχή ονόματος χρήστη, ονόματος ή e-mail.",
        "en": "Start of a username, name or e-mail.",
    },
    "no_users": {"el": "Δεν βρέθηκαν χρήστες.", "en": "No users found."},
    "user_name": {"el": "Όνομα", "en": "Name"},
    "user_username": {"el": "Όνομα χρήστη", "en": "Username"},
    "user_email": {"el": "E-mail", "en": "E-mail"},
    "user_roles": {"el": "Ρόλοι", "en": "Roles"},
    "user_status": {"el": "Κατάσταση", "en": "Status"},
    "user_actions": {"el": "Ενέργειες", "en": "Actions"},
    "role_customer": {"el": "Πελάτης", "en": "Customer"},
    "role_agent": {"el": "Πράκτορας", "en": "Agent"},
    "role_admin": {"el": "Διαχειριστής", "en": "Admin"},
    "account_active": {"el": "ενεργός", "en": "active"},
    "account_deactivated": {"el": "απενεργοποιημένος", "en": "deactivated"},
    "account_pending_activation": {"el": "σε αναμονή ενεργοποίησης", "en": "pending activation"},
    "save_roles": {"el": "Αποθήκευση ρόλων", "en": "Save roles"},
    "deactivate": {"el": "Απενεργοποίηση", "en": "Deactivate"},
    "reactivate": {"el": "Επανενεργοποίηση", "en": "Reactivate"},
    "roles_saved": {"el": "Οι ρόλοι αποθηκεύτηκαν.", "en": "The roles were saved."},
    "user_deactivated": {
        "el": "Ο χρήστης απενεργοποιήθηκε· οι συνδέσεις του έληξαν αμέσως.",
        "en": "The user was deactivated; their sessions ended at once.",
    },
    "user_reactivated": {
        "el": "Ο χρήστης ενεργοποιήθηκε ξανά· μπορεί να συνδεθεί.",
        "en": "The user was reactivated; they can log in again.",
    },
    "no_roles_chosen": {
        "el": "Επιλέξτε τουλάχιστον έναν ρόλο.",
        "en": "Choose at least one role.",
    },
    "self_lockout": {
        "el": "Δεν μπορείτε να απενεργοποιήσετε τον εαυτό σας ούτε να αφαιρέσετε "
        "τον δικό σας ρόλο διαχειριστή.",
        "en": "You cannot deactivate yourself or remove your own admin role.",
    },
    "admins_only_text": {
        "el": "Μόνο οι διαχειριστές έχουν πρόσβαση σε αυτή τη σελίδα.",
        "en": "Only admins may use this page.",
    },
    # Assignment to colleagues (issue 29)
    "my_queues": {"el": "Οι ουρές μου", "en": "My queues"},
    "assign_to": {"el": "Ανάθεση σε", "en": "Assign to"},
    "assign_reason": {"el": "Αιτιολογία (προαιρετική)", "en": "Reason (optional)"},
    "assign_button": {"el": "Ανάθεση", "en": "Assign"},
    "unassign_button": {"el": "Αφαίρεση υπευθύνου", "en": "Unassign"},
    "TicketUnassigned": {"el": "Αφαιρέθηκε ο υπεύθυνος", "en": "Unassigned"},
    "TicketAwaitingAgent": {
        "el": "Κανείς διαθέσιμος στην ουρά· ενημερώθηκαν οι διαχειριστές",
        "en": "Nobody available in the queue; its admins were told",
    },
    "waiting_tickets": {"el": "Χωρίς υπεύθυνο", "en": "Unassigned"},
    "nobody_available_waiting": {
        "el": "Κανένα μέλος δεν είναι διαθέσιμο: {count} αιτήματα περιμένουν χωρίς υπεύθυνο.",
        "en": "No member is available: {count} requests are waiting without an assignee.",
    },
}
