"""What a query would cost in Athena: bytes scanned, rounded up to the megabyte with a 10 MB
minimum per query, at $5 per TB (binary units, as Athena's console reports data scanned)."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024
TB = 1024**4
MINIMUM_BILLED = 10 * MB
PRICE_PER_TB = 5.0


@dataclass(frozen=True, slots=True)
class TableScan:
    table: str
    objects: int
    bytes: int
    rows: int


@dataclass(frozen=True, slots=True)
class ScanReport:
    tables: list[TableScan]

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.tables)

    @property
    def objects(self) -> int:
        return sum(t.objects for t in self.tables)

    @property
    def billed_bytes(self) -> int:
        return billed_bytes(self.bytes)

    @property
    def cost(self) -> float:
        return cost(self.bytes)

    def summary(self) -> str:
        return (
            f"Data scanned: {human_bytes(self.bytes)} ({self.bytes:,} bytes in "
            f"{self.objects} object(s)); Athena would bill {human_bytes(self.billed_bytes)} "
            f"= ${self.cost:.6f} at ${PRICE_PER_TB:g}/TB"
        )


def billed_bytes(scanned: int) -> int:
    """What Athena bills for a query that scanned ``scanned`` bytes."""
    rounded = -(-scanned // MB) * MB
    return max(rounded, MINIMUM_BILLED)


def cost(scanned: int) -> float:
    return billed_bytes(scanned) / TB * PRICE_PER_TB


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} TB"
