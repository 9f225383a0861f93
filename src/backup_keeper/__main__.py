"""``python -m backup_keeper`` is the same door as the ``backup-keeper`` command."""

from backup_keeper.cli.app import main

main()
