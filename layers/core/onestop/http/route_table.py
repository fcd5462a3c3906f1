"""Which route modules serve a path: the api function imports a module on the first request it serves.

The API's eleven route modules and what they import (the application service, the catalogue, the
quality and notification models…) were two fifths of the api function's cold start, and a request
needs one or two of them. The table is by path only, never by method: a path's every route is loaded
with it, so a wrong method still gets its 405 with the `Allow` the route table gives. A path the
table does not know loads every module, and is answered exactly as if all had been loaded at start.
tests/unit/test_route_table.py checks every route of every module against it.

Kept free of imports: the function reads it at start.
"""

from __future__ import annotations

# Registration order, which decides between routes whose rules both match a path (Powertools tries the
# routes without parameters first, then in the order they were added): loading keeps this order.
ROUTE_MODULES: tuple[str, ...] = (
    "routes_catalogue",
    "routes_applications",
    "routes_review",
    "routes_clock",
    "routes_assignment",
    "routes_corrections",
    "routes_licences",
    "routes_quality",
    "routes_bindings",
    "routes_notifications",
    "routes_channels",
)

# First path segment → the modules with routes under it (/applications is split further below).
BY_FIRST_SEGMENT: dict[str, tuple[str, ...]] = {
    "items": ("routes_catalogue",),
    "admin": ("routes_catalogue",),
    "review": ("routes_review", "routes_assignment"),
    "licences": ("routes_licences",),
    "cases": ("routes_quality",),
    "stats": ("routes_quality",),
    "bindings": ("routes_bindings",),
    "me": ("routes_notifications",),
}

# /applications and /applications/{id}: the application's own routes, and the service window's list
# (/applications/window) whose rule the application's id would otherwise match.
APPLICATION_ITSELF: tuple[str, ...] = ("routes_applications", "routes_channels")

# /applications/{id}/{action}/… → the modules with routes for that action.
BY_APPLICATION_ACTION: dict[str, tuple[str, ...]] = {
    "materials": ("routes_applications", "routes_corrections"),
    "submit": ("routes_applications",),
    "withdraw": ("routes_applications",),
    "decision": ("routes_review",),
    "clock": ("routes_clock",),
    "assignment": ("routes_assignment",),
    "assignee": ("routes_assignment",),
    "claim": ("routes_assignment",),
    "release": ("routes_assignment",),
    "review": ("routes_quality",),
}


def route_modules_for(path: str) -> tuple[str, ...]:
    """The route modules that may hold a route for `path`, in registration order (all when unknown)."""
    segments = path.strip("/").split("/")
    if segments[0] == "applications":
        found = APPLICATION_ITSELF if len(segments) <= 2 else BY_APPLICATION_ACTION.get(segments[2])
    else:
        found = BY_FIRST_SEGMENT.get(segments[0])
    if found is None:
        return ROUTE_MODULES
    return tuple(m for m in ROUTE_MODULES if m in found)
