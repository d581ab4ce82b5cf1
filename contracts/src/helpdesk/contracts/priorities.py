"""The five request priorities of the helpdesk FAQ, with its wording verbatim."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"
    CRITICAL = "critical"


class PriorityText(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    description: str


# Greek text exactly as in the FAQ (seed/helpdesk-faq.el.txt); English from its translation.
PRIORITY_TEXT: dict[Priority, dict[str, PriorityText]] = {
    Priority.LOW: {
        "el": PriorityText(
            label="Χαμηλή",
            description="Όταν το πρόβλημα δεν είναι ιδιαίτερης σημασίας ή απλά θέλετε να "
            "διατυπώσετε μια γενική ερώτηση.",
        ),
        "en": PriorityText(
            label="Low",
            description="The problem is of no particular importance, or you just want to "
            "ask a general question.",
        ),
    },
    Priority.NORMAL: {
        "el": PriorityText(
            label="Κανονική",
            description="Όταν το πρόβλημα αφορά απορίες για την χρήση προγραμμάτων ή ρυθμίσεις "
            "συστήματος ή δικτύου ή (νέων) περιφερειακών συσκευών",
        ),
        "en": PriorityText(
            label="Normal",
            description="Questions about using programs, system or network settings, or (new) "
            "peripheral devices.",
        ),
    },
    Priority.HIGH: {
        "el": PriorityText(
            label="Υψηλή",
            description="Όταν υπάρχει πρόβλημα σε κάποια λειτουργία του συστήματός σας ή του "
            "δικτύου σας ή των περιφερειακών σας που δεν σας επιτρέπει να εργαστείτε.",
        ),
        "en": PriorityText(
            label="High",
            description="A problem in some function of your system, network or peripherals "
            "that does not let you work.",
        ),
    },
    Priority.URGENT: {
        "el": PriorityText(
            label="Επείγουσα",
            description="Όταν υπάρχει δυσλειτουργία σε κεντρικό σύστημα ή server ή το web site "
            "ή σε mail server με αποτέλεσμα την διακοπή της παραγωγικής λειτουργίας ενός "
            "μικρού αριθμού θέσεων εργασίας.",
        ),
        "en": PriorityText(
            label="Urgent",
            description="A malfunction of a central system, server, the web site or a mail "
            "server that interrupts production for a small number of workstations.",
        ),
    },
    Priority.CRITICAL: {
        "el": PriorityText(
            label="Κρίσιμη",
            description="Όταν δεν είναι προσβάσιμοι βασικοί πόροι λειτουργίας της επιχείρησης "
            "και επηρεάζεται καθολικά η παραγωγική λειτουργία της επιχείρησης για το σύνολο "
            "των θέσεων εργασίας και δεν γνωρίζετε την αιτία.",
        ),
        "en": PriorityText(
            label="Critical",
            description="Core business resources are unreachable, the production of the whole "
            "business is affected for all workstations, and you do not know the cause.",
        ),
    },
}
