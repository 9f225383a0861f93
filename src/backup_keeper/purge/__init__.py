"""Carrying out a retention plan on disk, safely and in two phases."""
