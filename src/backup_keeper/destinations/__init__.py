"""Second places for backups (issue 16): object stores, SFTP servers and mounted shares.

A destination is named by a URL (``s3://bucket/prefix``, ``az://container/prefix``,
``gs://bucket/prefix``, ``sftp://user@host:port/path``, ``file:///mnt/share``) and opened as a
:class:`~backup_keeper.destinations.store.RemoteStore` rooted at ``<prefix>/<instance>/``. Every
store speaks the same small protocol (list, head, put, get, delete), so the copy job, the remote
catalog and the remote purge never know which kind of place they talk to.

Heavy clients (obstore, asyncssh) are imported when a store of their kind is opened, never
when this package is imported.
"""
