"""The one error of statement reading."""

from __future__ import annotations


class StatementError(ValueError):
    """A statement file cannot be read; the message names where and what.

    `location` is where in the file (`line 17, column "amount"`, `Ntry 3 (AcctSvcrRef X)`,
    `line 5, column 2`), `problem` what is wrong there. Reconciliation wraps it in its own
    error; nothing read before it may be used on its own (the file is refused whole).
    """

    def __init__(self, location: str, problem: str) -> None:
        self.location = location
        self.problem = problem
        super().__init__(f"{location}: {problem}")
