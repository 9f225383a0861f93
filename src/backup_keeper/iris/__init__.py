"""The port to IRIS and its adapters. Only the adapter modules here import the ``iris`` module;
the pure helpers (return-value parsing, labels, DBREST replies) sit beside them so every adapter
reads IRIS's answers the same way. What IRIS writes that the catalog reads too (its backup log,
its history entry) is in ``iris_formats``, below both, so the port never imports the catalog nor
the catalog the port."""
