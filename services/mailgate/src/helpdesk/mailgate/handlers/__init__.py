"""The mailgate's use cases: `intake.py` keeps what arrives, `process.py` decides
what a kept mail becomes and runs the worker loop; `deps.py` names the ports."""
