"""Finding backup files and learning what they are: sidecar manifests first, then IRIS's own
names, else the file is unmanaged and never deleted by a count or chain rule."""
