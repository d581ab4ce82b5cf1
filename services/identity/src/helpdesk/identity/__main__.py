"""`python -m helpdesk.identity`: run the identity service until SIGTERM."""

from helpdesk.identity.bootstrap import SERVICE
from helpdesk.servicekit.runtime import main

if __name__ == "__main__":
    main(SERVICE)
