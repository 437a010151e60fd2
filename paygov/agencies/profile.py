"""What a request acting for an agency needs to know about it, read in one query."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgencyProfile:
    id: str
    code: str
    mode: str
    return_hosts: tuple[str, ...]
    # Registered beneficiary account numbers, the default first.
    beneficiaries: tuple[str, ...]

    @property
    def is_test(self) -> bool:
        return self.mode == "test"

    @property
    def default_beneficiary(self) -> str | None:
        return self.beneficiaries[0] if self.beneficiaries else None
