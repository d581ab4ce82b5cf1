"""The mail domain: reading a mail (`message.py`, `text.py`), telling people's mail
from machines' (`screening.py`) and finding the thread it answers (`threading.py`).
Pure: no I/O, no framework."""
