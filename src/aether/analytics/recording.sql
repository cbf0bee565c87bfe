-- name: insert_metric
-- The agent is found by name first, then by type (the seed's agents.type: 'telegram', 'youtube', ...).
INSERT INTO analytics (agent_id, metric_name, value, metadata, recorded_at)
VALUES (
  (SELECT id FROM agents WHERE name = %(agent)s OR type = %(agent)s ORDER BY (name = %(agent)s) DESC, id LIMIT 1),
  %(metric_name)s, %(value)s, %(metadata)s, COALESCE(%(at)s::timestamp, CURRENT_TIMESTAMP)
)
RETURNING id
