"""The port to IRIS and its adapters. Only the adapter modules here import the ``iris`` module;
the pure helpers (log parsing, return-value parsing) sit beside them so every adapter reads IRIS's
answers the same way."""
