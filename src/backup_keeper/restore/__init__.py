"""Restore planning: which files, in which order, and the IRIS steps to run them."""
