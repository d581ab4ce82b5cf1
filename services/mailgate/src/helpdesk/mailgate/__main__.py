"""`python -m helpdesk.mailgate`: run the mail gateway until SIGTERM."""

from helpdesk.mailgate.bootstrap import SERVICE
from helpdesk.servicekit.runtime import main

if __name__ == "__main__":
    main(SERVICE)
