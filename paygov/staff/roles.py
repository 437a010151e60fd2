"""What each staff role may do (DESIGN.md §11). Checked on the server for every action."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    READ = "read"  # payments, runs, discrepancies, reports of the agencies in scope
    DOWNLOAD = "download"
    RECONCILE = "reconcile"  # start runs
    RESOLVE = "resolve"  # resolve discrepancies
    REFUND = "refund"
    ADMINISTER = "administer"  # users, providers, agencies, keys


GRANTS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "finance": frozenset(
        {
            Permission.READ,
            Permission.DOWNLOAD,
            Permission.RECONCILE,
            Permission.RESOLVE,
            Permission.REFUND,
        }
    ),
    "agency_finance": frozenset({Permission.READ, Permission.DOWNLOAD, Permission.REFUND}),
    "viewer": frozenset({Permission.READ}),
}


@dataclass(frozen=True)
class Staff:
    """A signed-in staff member: who, which role, and for agency_finance, which agency."""

    user_id: str
    email: str
    role: str
    agency_id: str | None

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def sees_agency(self, agency_id: str) -> bool:
        return self.agency_id is None or self.agency_id == agency_id

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"staff:{self.email}"
