"""BackupKeeper.Production's definition, for ``iop.migration.utils.migrate``.

IoP inserts this directory first on sys.path while it migrates (iop 4.1.1,
``iop/migration/_settings.py``), so it holds nothing but the definition: any other module here would
become an importable top-level name for that time (tests/cls/test_packaging.py checks it).
"""
