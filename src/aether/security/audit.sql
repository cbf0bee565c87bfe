-- Audit log queries (the rows are written by triggers; see migration 0006)

-- name: search_audit
SELECT id, occurred_at, actor, action, table_name, row_id, changes, transaction_id,
       host(client_addr) AS client_addr, db_user
FROM audit_log
WHERE (%(table)s::TEXT IS NULL OR table_name = %(table)s)
  AND (%(actor)s::TEXT IS NULL OR actor = %(actor)s OR (%(actor_prefix)s AND actor LIKE %(actor)s || '%%'))
  AND (%(action)s::TEXT IS NULL OR action = %(action)s)
  AND (%(row_id)s::TEXT IS NULL OR row_id = %(row_id)s)
  AND (%(since)s::TIMESTAMP IS NULL OR occurred_at >= %(since)s)
  AND (%(until)s::TIMESTAMP IS NULL OR occurred_at < %(until)s)
  AND (%(before_id)s::BIGINT IS NULL OR id < %(before_id)s)
ORDER BY id DESC
LIMIT %(limit)s

-- name: audit_entry
SELECT id, occurred_at, actor, action, table_name, row_id, changes, transaction_id,
       host(client_addr) AS client_addr, db_user
FROM audit_log WHERE id = %(id)s

-- name: audited_tables
SELECT DISTINCT table_name FROM audit_log ORDER BY table_name

-- name: set_client_addr
SELECT set_config('aether.client_addr', %(addr)s, true)

-- name: set_actor
SELECT set_config('aether.actor', %(actor)s, true)

-- name: prune_audit
SELECT aether_audit_prune(%(keep)s::INTERVAL) AS pruned
