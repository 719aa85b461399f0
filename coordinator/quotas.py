"""The quota table: limits per organization (client id '') and per client id in it."""

from __future__ import annotations

from .sql import Driver


class QuotaStore:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    async def all(self, org_id: str) -> dict[tuple[str, str], float]:
        """(client id, quota name) -> value; client id '' is the organization's own."""
        rows = await self.driver.fetch(
            "SELECT client_id, name, value FROM quotas WHERE org_id = $1", org_id)
        return {(r[0], r[1]): float(r[2]) for r in rows}

    async def set(self, org_id: str, client_id: str, name: str, value: float | None) -> None:
        """Set a quota, or remove it (value None)."""
        async with self.driver.transaction() as tx:
            await tx.execute(
                "DELETE FROM quotas WHERE org_id = $1 AND client_id = $2 AND name = $3",
                org_id, client_id, name)
            if value is not None:
                await tx.execute(
                    "INSERT INTO quotas (org_id, client_id, name, value) VALUES ($1, $2, $3, $4)",
                    org_id, client_id, name, value)
