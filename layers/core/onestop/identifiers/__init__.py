"""Identifiers and their check characters.

USCC (GB 32100), resident ID number (GB 11643), e-licence identifier (GB/T 36904).
"""

from .licence_id import (
    LicenceId,
    is_valid_licence_id,
    make_licence_id,
    mod37_36_check,
    parse_licence_id,
)
from .resident_id import (
    birth_date_of,
    id_check_char,
    is_valid_resident_id,
    normalise_resident_id,
    resident_id_problems,
    validate_resident_id,
)
from .uscc import (
    compose_uscc,
    is_valid_uscc,
    make_uscc,
    normalise_uscc,
    org_code_check_char,
    uscc_check_char,
    uscc_problems,
    validate_uscc,
)

__all__ = [
    "LicenceId",
    "birth_date_of",
    "compose_uscc",
    "id_check_char",
    "is_valid_licence_id",
    "is_valid_resident_id",
    "is_valid_uscc",
    "make_licence_id",
    "make_uscc",
    "mod37_36_check",
    "normalise_resident_id",
    "normalise_uscc",
    "org_code_check_char",
    "parse_licence_id",
    "resident_id_problems",
    "uscc_check_char",
    "uscc_problems",
    "validate_resident_id",
    "validate_uscc",
]
