"""Routes by destination prefix (smsgw.logic.routing), a few items in the table.

Keys (see docs/data-model.md):
  route  PK=ROUTE  SK=<prefix or "default">  Carriers=[names, first choice first]
All of them are one Query of one partition; a warm sender reads them at most once per
`cache_seconds`, as it reads the carrier secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smsgw.dal.conditions import delete_existing
from smsgw.dal.settings_partition import SettingsPartition
from smsgw.errors import ErrorCode, NotFoundError

PARTITION = "ROUTE"


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    """`+` and digits, or `default`."""
    carriers: tuple[str, ...]
    date_updated: str = ""


class RouteStore(SettingsPartition[dict[str, tuple[str, ...]]]):
    """`current`: prefix → carriers."""

    partition = PARTITION

    def put(self, prefix: str, carriers: tuple[str, ...], updated: str) -> Route:
        """Set (or replace) the route of `prefix`."""
        self._table.put_item(
            Item={
                "PK": PARTITION,
                "SK": prefix,
                "Type": "Route",
                "Carriers": list(carriers),
                "DateUpdated": updated,
            }
        )
        return Route(prefix, carriers, updated)

    def remove(self, prefix: str) -> Route:
        """Delete the route of `prefix`. Raises NotFoundError when there is none."""
        removed = delete_existing(self._table, {"PK": PARTITION, "SK": prefix}, "PK")
        if removed is None:
            raise NotFoundError(
                ErrorCode.CARRIER_ROUTE_NOT_FOUND, f"No route has the prefix {prefix}.", "Prefix"
            )
        return _route(removed)

    def list(self, *, consistent: bool = True) -> list[Route]:
        """Every route, by prefix."""
        return [_route(item) for item in self._items(consistent=consistent)]

    def _read_current(self) -> dict[str, tuple[str, ...]]:
        # eventually consistent (half the read): a change already waits up to a minute
        return {route.prefix: route.carriers for route in self.list(consistent=False)}


def _route(item: dict[str, Any]) -> Route:
    return Route(
        prefix=item["SK"],
        carriers=tuple(item.get("Carriers") or ()),
        date_updated=item.get("DateUpdated", ""),
    )
