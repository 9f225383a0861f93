"""What IRIS writes about its backups, in the shapes this project reads them: the log each online
backup writes (``backup_log``) and one entry of the instance's backup history
(``backup_history``).

Pure, and below both sides that read them: the IRIS port and its adapters produce these, the
catalog judges backup files by them. Kept out of ``iris/`` so the catalog never depends on the
port, nor the port on the catalog. Nothing here calls IRIS.
"""
