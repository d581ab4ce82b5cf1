"""The portal's words for second factors, Greek first (merged into `i18n._STRINGS`)."""

from __future__ import annotations

FACTOR_STRINGS: dict[str, dict[str, str]] = {
    "account_link": {"el": "Ο λογαριασμός μου", "en": "My account"},
    "account_heading": {"el": "Ο λογαριασμός μου", "en": "My account"},
    "factors_heading": {"el": "Δεύτερος παράγοντας σύνδεσης", "en": "Second factor"},
    "factors_required": {
        "el": "Ο ρόλος σας απαιτεί δεύτερο παράγοντα σύνδεσης.",
        "en": "Your role requires a second factor.",
    },
    "no_factors": {
        "el": "Δεν έχετε προσθέσει δεύτερο παράγοντα σύνδεσης.",
        "en": "You have not added a second factor.",
    },
    "factor_totp": {"el": "Εφαρμογή ελέγχου ταυτότητας (TOTP)", "en": "Authenticator app (TOTP)"},
    # Accounts from the organisation (docs/sso.md)
    "source_ldap": {"el": "κατάλογος LDAP", "en": "LDAP directory"},
    # Refusals of the organisation's sign-in and of HELPDESK_REGISTRATION, by code.
    "registration_closed": {
        "el": "Η εγγραφή δεν είναι ανοιχτή για αυτή τη διεύθυνση. Συνδεθείτε με τον "
        "λογαριασμό του οργανισμού σας.",
        "en": "Registration is not open to this address. Sign in with your organisation's account.",
    },
    "add_passkey": {"el": "Προσθήκη κλειδιού πρόσβασης (passkey)", "en": "Add a passkey"},
    "passkey_added": {"el": "Το κλειδί πρόσβασης προστέθηκε.", "en": "The passkey was added."},
    "passkey_sign_in": {"el": "Σύνδεση με κλειδί πρόσβασης", "en": "Sign in with a passkey"},
    "passkey_second_step": {"el": "Χρήση κλειδιού πρόσβασης", "en": "Use a passkey"},
    "passkey_refused": {
        "el": "Το κλειδί πρόσβασης δεν έγινε δεκτό. Δοκιμάστε ξανά.",
        "en": "The passkey was not accepted. Please try again.",
    },
    "organisation_sign_in": {
        "el": "Σύνδεση με τον λογαριασμό του οργανισμού",
        "en": "Sign in with your organisation",
    },
    "organisation_sign_in_failed": {
        "el": "Η σύνδεση με τον λογαριασμό του οργανισμού δεν ολοκληρώθηκε. Δοκιμάστε ξανά.",
        "en": "Signing in with your organisation did not complete. Please try again.",
    },
    "source_oidc": {"el": "OpenID Connect", "en": "OpenID Connect"},
    "source_saml": {"el": "SAML", "en": "SAML"},
    "link_heading": {
        "el": "Σύνδεση με τον υπάρχοντα λογαριασμό σας",
        "en": "Join your existing account",
    },
    "link_intro": {
        "el": "Υπάρχει ήδη λογαριασμός εδώ με τη διεύθυνση ηλεκτρονικού ταχυδρομείου σας. Γράψτε "
        "τον κωδικό πρόσβασης εκείνου του λογαριασμού μία φορά· από εκεί και πέρα θα συνδέεστε με "
        "τον λογαριασμό του οργανισμού σας.",
        "en": "An account here already has your e-mail address. Enter that account's password "
        "once; from then on you sign in with your organisation's account.",
    },
    "link_password_label": {
        "el": "Κωδικός πρόσβασης του λογαριασμού εδώ",
        "en": "Password of the account here",
    },
    "link_button": {"el": "Σύνδεση λογαριασμών", "en": "Join the accounts"},
    "factor_passkey": {"el": "Κλειδί πρόσβασης (passkey)", "en": "Passkey"},
    "factor_added_on": {"el": "προστέθηκε {at}", "en": "added {at}"},
    "recovery_codes_left": {
        "el": "Απομένουν {n} κωδικοί ανάκτησης.",
        "en": "{n} recovery codes left.",
    },
    "add_totp": {"el": "Προσθήκη εφαρμογής ελέγχου ταυτότητας", "en": "Add an authenticator app"},
    "remove_factor": {"el": "Αφαίρεση", "en": "Remove"},
    "factor_removed": {
        "el": "Ο δεύτερος παράγοντας αφαιρέθηκε.",
        "en": "The second factor was removed.",
    },
    "mfa_code_heading": {"el": "Κωδικός επαλήθευσης", "en": "Verification code"},
    "mfa_code_intro": {
        "el": "Γράψτε τον εξαψήφιο κωδικό της εφαρμογής ελέγχου ταυτότητας ή έναν κωδικό "
        "ανάκτησης.",
        "en": "Enter the six-digit code from your authenticator app, or a recovery code.",
    },
    "mfa_code_label": {"el": "Κωδικός", "en": "Code"},
    "mfa_verify_button": {"el": "Επαλήθευση", "en": "Verify"},
    "mfa_enrol_heading": {
        "el": "Προσθέστε δεύτερο παράγοντα σύνδεσης",
        "en": "Add a second factor",
    },
    "mfa_enrol_intro": {
        "el": "Ο λογαριασμός σας χρειάζεται δεύτερο παράγοντα πριν συνεχίσετε. Προσθέστε το "
        "κλειδί στην εφαρμογή ελέγχου ταυτότητας (π.χ. FreeOTP, Aegis, Google Authenticator) "
        "και γράψτε τον κωδικό που δείχνει.",
        "en": "Your account needs a second factor before you go on. Add the key to your "
        "authenticator app (e.g. FreeOTP, Aegis, Google Authenticator) and enter the code "
        "it shows.",
    },
    "totp_intro": {
        "el": "Προσθέστε το κλειδί στην εφαρμογή ελέγχου ταυτότητας και γράψτε τον κωδικό "
        "που δείχνει.",
        "en": "Add the key to your authenticator app and enter the code it shows.",
    },
    "totp_secret_label": {"el": "Κλειδί", "en": "Key"},
    "totp_uri_label": {
        "el": "Σύνδεσμος otpauth (για κωδικό QR)",
        "en": "otpauth link (for a QR code)",
    },
    "mfa_enrol_button": {"el": "Ενεργοποίηση", "en": "Turn on"},
    "recovery_codes_heading": {"el": "Κωδικοί ανάκτησης", "en": "Recovery codes"},
    "recovery_codes_intro": {
        "el": "Φυλάξτε αυτούς τους δέκα κωδικούς σε ασφαλές μέρος: ο καθένας σας συνδέει μία "
        "φορά αν χάσετε τη συσκευή σας. Δεν θα τους ξαναδείτε.",
        "en": "Keep these ten codes somewhere safe: each signs you in once if you lose your "
        "device. You will not see them again.",
    },
    "continue": {"el": "Συνέχεια", "en": "Continue"},
    "invalid_code": {"el": "Ο κωδικός δεν είναι έγκυρος.", "en": "This code is not valid."},
    "invalid_challenge": {
        "el": "Η σύνδεση έληξε. Συνδεθείτε ξανά.",
        "en": "The sign-in has expired. Log in again.",
    },
    "user_factors": {"el": "Δεύτερος παράγοντας", "en": "Second factor"},
    "user_source": {"el": "Προέλευση", "en": "Source"},
    "source_local": {"el": "τοπικός", "en": "local"},
}
