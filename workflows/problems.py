"""A validation problem: where (a dotted/indexed path) and what."""

from typing import NamedTuple


class Problem(NamedTuple):
    path: str
    message: str

    def as_detail(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}
