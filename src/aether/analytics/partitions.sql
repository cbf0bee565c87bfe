-- name: create_partition
SELECT aether_analytics_create_partition(%(month)s::timestamp) AS name

-- name: list_partitions
SELECT p.partition_name AS name, p.lower_bound, p.upper_bound, p.is_default,
       GREATEST((SELECT c.reltuples FROM pg_class c WHERE c.relname = p.partition_name), 0)::bigint AS estimated_rows
FROM aether_analytics_partitions() p

-- name: drop_partitions_before
SELECT aether_analytics_drop_partitions_before(%(cutoff)s::timestamp) AS name
