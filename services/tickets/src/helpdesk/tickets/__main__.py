"""`python -m helpdesk.tickets`: run the tickets service until SIGTERM."""

from helpdesk.servicekit.runtime import main
from helpdesk.tickets.bootstrap import SERVICE

if __name__ == "__main__":
    main(SERVICE)
