"""Copying a local backup to a second place and fetching it back: the transfer pipeline.

Layer "effects": it reads the local catalog's sidecars (``catalog.manifest``), speaks to a
:class:`~backup_keeper.destinations.store.RemoteStore`, and encrypts with
:mod:`backup_keeper.encryption`. The stores themselves know nothing of backups; this unit knows
what a backup is made of (file, IRIS log, sidecar), in which order they must reach a
destination (the sidecar last), and how a copy is proved (a read-back of the stored bytes).

- :mod:`~backup_keeper.offsite.copy`: ``copy_backups``, a catalog's backups to one destination,
  oldest first, then the destination's own purge.
- :mod:`~backup_keeper.offsite.upload`: ``upload_backup``, one local backup to one store.
- :mod:`~backup_keeper.offsite.download`: ``download_backup``, one remote backup into staging.
- :mod:`~backup_keeper.offsite.pacing`: bandwidth limit and retries with backoff.
- :mod:`~backup_keeper.offsite.streams`: reading, hashing and counting chunks.
- :mod:`~backup_keeper.offsite.stored_sidecars`: a destination's sidecars read through the
  store (copy records for verify, manifests for a restore plan).
"""
