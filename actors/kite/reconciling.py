"""Our side of reconciliation (`actors.kite.reconcile`): the venue's book as `OurLedger`.

Our tags have no prefix (all 20 characters carry the client order id, `actors.kite.tags`),
so every tagged Kite order is a candidate and the tag map decides: a tag that decodes to a
client order id is ours, any other is foreign. Positions are the book's net quantity per
instrument from every fill it emitted or read back, kept in the execution snapshot.
"""

from __future__ import annotations

from actors.kite.book import KiteBook
from actors.kite.reconcile import LedgerOrder, OurLedger
from actors.kite.tags import TagError, client_order_id_of

__all__ = ["our_ledger", "our_client_order_id"]


def our_client_order_id(tag: str) -> str | None:
    """The tag map: the client order id a tag of ours was made from, else None."""
    try:
        return client_order_id_of(tag)
    except TagError:
        return None


def our_ledger(book: KiteBook) -> OurLedger:
    orders = {
        o.tag: LedgerOrder(
            client_order_id=o.client_order_id,
            tag=o.tag,
            broker_order_id=o.broker_order_id or None,
            instrument_token=o.instrument_token,
            side=o.side,
            quantity=o.quantity,
            filled_quantity=o.filled_quantity,
            is_open=o.is_open,
            fill_ids=tuple(o.trade_ids),
        )
        for o in book.all_orders()
        if o.tag and o.phase != "refused"
    }
    return OurLedger(orders=orders, positions=dict(book.positions), tag_prefix="")
