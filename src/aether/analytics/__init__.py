"""Analytics: metrics recorded into the month-partitioned `analytics` table, dashboards over them."""

from aether.analytics.partitions import drop_partitions_older_than, ensure_partitions, list_partitions
from aether.analytics.recording import record, record_async

__all__ = ["drop_partitions_older_than", "ensure_partitions", "list_partitions", "record", "record_async"]
