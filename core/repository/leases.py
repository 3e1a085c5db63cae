"""Leases in SQL: one holder at a time, taken and given back by compare-and-set, lapsing when a holder dies.

The sweep controller holds one on its sweep's row; the dispatcher holds the named row `dispatch` of the lease table,
whose `wakes` counter lets a process that finds the lease held ask the holder for one more pass.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.repository.upserts import insert_or_ignore
from core.tables import Lease
from core.timeutil import utcnow


@dataclass(frozen=True)
class LeaseColumns:
    """The two columns that hold a lease on some table's row: who holds it, and until when."""

    holder: InstrumentedAttribute[str | None]
    until: InstrumentedAttribute[datetime | None]

    @property
    def table(self) -> Any:
        """The ORM class the columns belong to."""
        return self.holder.class_


def take(
    session: Session, lease: LeaseColumns, where: Sequence[ColumnElement[bool]], *, holder: str, until: datetime
) -> bool:
    """Hold the lease of the row `where` picks until `until`, if no other holds it live (compare-and-set);
    committed."""
    won = session.execute(
        update(lease.table)
        .where(*where, or_(lease.until.is_(None), lease.until < utcnow(), lease.holder == holder))
        .values({lease.holder: holder, lease.until: until})
    )
    session.commit()
    return bool(won.rowcount)  # type: ignore[attr-defined]


def release(session: Session, lease: LeaseColumns, where: Sequence[ColumnElement[bool]], holder: str) -> bool:
    """Give the lease back (only this holder's), so the next taker need not wait for it to lapse; committed."""
    done = session.execute(
        update(lease.table).where(*where, lease.holder == holder).values({lease.holder: None, lease.until: None})
    )
    session.commit()
    return bool(done.rowcount)  # type: ignore[attr-defined]


NAMED = LeaseColumns(Lease.holder, Lease.until)


def take_named(session: Session, *, name: str, holder: str, until: datetime) -> int | None:
    """Hold the named lease; the count of wake-ups it has had so far, or None when another holds it."""
    session.execute(insert_or_ignore(session, Lease).values(name=name, wakes=0))
    if not take(session, NAMED, (Lease.name == name,), holder=holder, until=until):
        return None
    return int(session.scalar(select(Lease.wakes).where(Lease.name == name)) or 0)


def wake_holder(session: Session, *, name: str) -> bool:
    """Ask the live holder of the named lease for one more pass; False when none holds it (take it instead)."""
    woken = session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder.is_not(None), Lease.until >= utcnow())
        .values(wakes=Lease.wakes + 1)
    )
    session.commit()
    return bool(woken.rowcount)  # type: ignore[attr-defined]


def release_named(session: Session, *, name: str, holder: str, wakes: int) -> bool:
    """Give the named lease back unless a wake-up came since `wakes` was read; False: hold on and run again."""
    return release(session, NAMED, (Lease.name == name, Lease.wakes == wakes), holder)
