"""The Merkle node store of one initiative's log, in the database (merkle.NodeStore)."""

from __future__ import annotations

from django.db import connection

from quorum.ledger.models import LogNode
from quorum.proofs.merkle import NodeKey

LEVEL_SHIFT = 56


def pack(key: NodeKey) -> int:
    level, index = key
    return (level << LEVEL_SHIFT) | index


def unpack(position: int) -> NodeKey:
    return position >> LEVEL_SHIFT, position & ((1 << LEVEL_SHIFT) - 1)


class DatabaseNodeStore:
    def __init__(self, initiative_id: int) -> None:
        self.initiative_id = initiative_id

    def get(self, level: int, index: int) -> bytes:
        found = self.get_many([(level, index)])
        if (level, index) not in found:
            raise KeyError((level, index))
        return found[(level, index)]

    def get_many(self, keys: list[NodeKey]) -> dict[NodeKey, bytes]:
        if not keys:
            return {}
        rows = LogNode.objects.filter(
            initiative_id=self.initiative_id, position__in=[pack(key) for key in keys]
        ).values_list("position", "hash")
        return {unpack(position): bytes(value) for position, value in rows}

    def put_many(self, items: dict[NodeKey, bytes]) -> None:
        # The unique constraint turns any attempt to rewrite a node into an error. One
        # executemany: the ORM's bulk_create costs about five times more per node.
        if not items:
            return
        table = connection.ops.quote_name(LogNode._meta.db_table)
        rows = [(self.initiative_id, pack(key), value) for key, value in items.items()]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (initiative_id, position, hash) VALUES (%s, %s, %s)", rows
            )
