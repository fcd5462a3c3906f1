"""onestop: approval service and e-licence system for a city bureau."""

__version__ = "0.1.0"
