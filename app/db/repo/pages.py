"""The one pagination helper (page/limit) and the page it returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.page * self.limit < self.total

    def meta(self) -> dict[str, Any]:
        """What a list answer's `meta` carries besides the request id (SPEC §3)."""
        return {"total": self.total, "page": self.page, "limit": self.limit, "has_more": self.has_more}

    @classmethod
    def whole(cls, items: list[T]) -> Page[T]:
        """A list served whole: one page holding every item."""
        return cls(items, len(items), 1, len(items))

    def map(self, view: Callable[[T], U]) -> Page[U]:
        return Page([view(item) for item in self.items], self.total, self.page, self.limit)


async def paginate(session: AsyncSession, model: Any, *, where: Sequence[Any], order_by: Sequence[Any],
                   page: int, limit: int) -> Page[Any]:
    """Rows `page` (1-based) of `limit` of `model` matching `where`, and how many match in all."""
    total = (await session.exec(select(func.count()).select_from(model).where(*where))).one()
    statement = select(model).where(*where).order_by(*order_by).offset((page - 1) * limit).limit(limit)
    return Page(list((await session.exec(statement)).all()), int(total), page, limit)
