"""The ACL table: an organization's Kafka ACL bindings. Pure SQL; matching and the rules of
Kafka's authorizer live in `broker/acls.py`."""

from __future__ import annotations

from collections.abc import Iterable

from .sql import Driver

# resource_type, resource_name, pattern_type, principal, host, operation, permission
AclRow = tuple[int, str, int, str, str, int, int]
_COLS = "resource_type, resource_name, pattern_type, principal, host, operation, permission"


class AclStore:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    async def all(self, org_id: str) -> list[AclRow]:
        rows = await self.driver.fetch(
            f"SELECT {_COLS} FROM acls WHERE org_id = $1 ORDER BY {_COLS}", org_id)
        return [(int(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4]), int(r[5]), int(r[6]))
                for r in rows]

    async def add(self, org_id: str, rows: Iterable[AclRow]) -> None:
        """Add bindings; one already there stays (as Kafka, creating it again is no error)."""
        async with self.driver.transaction() as tx:
            for r in rows:
                await tx.execute(
                    f"INSERT INTO acls (org_id, {_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    " ON CONFLICT DO NOTHING", org_id, *r)

    async def remove(self, org_id: str, rows: Iterable[AclRow]) -> None:
        async with self.driver.transaction() as tx:
            for r in rows:
                await tx.execute(
                    "DELETE FROM acls WHERE org_id = $1 AND resource_type = $2 AND"
                    " resource_name = $3 AND pattern_type = $4 AND principal = $5 AND host = $6"
                    " AND operation = $7 AND permission = $8", org_id, *r)
