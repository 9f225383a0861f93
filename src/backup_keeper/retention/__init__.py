"""Retention: deciding, without touching the disk, which backups to keep and which to delete."""
