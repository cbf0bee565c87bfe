"""Analytics: the monthly partitions of the analytics tables that maintenance creates ahead and drops."""

from __future__ import annotations

from pydantic import Field

from aether.config.base import Section


class AnalyticsSettings(Section):
    heading = "Analytics"

    analytics_partitions_ahead: int = Field(
        3, ge=0, le=120, description="Monthly analytics partitions maintenance creates ahead of time."
    )
    analytics_retention_months: int = Field(
        24, ge=1, le=1200, description="Whole months of analytics kept; older partitions are dropped."
    )
