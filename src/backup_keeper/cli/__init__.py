"""The ``backup-keeper`` command: a door that turns flags into settings, calls one job and turns
its JobReport into text or JSON and an exit code."""
