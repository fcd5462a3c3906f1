"""The embedded local stack (moto server + the template's wiring). Run: python -m infra.local."""

from .stack import LocalStack, PortInUse, StackConfig

__all__ = ["LocalStack", "PortInUse", "StackConfig"]
