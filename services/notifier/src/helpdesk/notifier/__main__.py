"""`python -m helpdesk.notifier`: run the notifier service until SIGTERM."""

from helpdesk.notifier.bootstrap import SERVICE
from helpdesk.servicekit.runtime import main

if __name__ == "__main__":
    main(SERVICE)
