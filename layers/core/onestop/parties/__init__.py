"""Parties an account acts for: the verified bindings of an account to a person and to enterprises,
and the binding requests an admin approves (with a power of attorney)."""
