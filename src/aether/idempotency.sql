-- name: claim_key
-- Take the key (insert, or take over an expired record, a failed one, or an in-flight claim whose lock
-- ran out); either way return the record, with claimed = whether this call now holds it.
WITH claimed AS (
  INSERT INTO idempotency_keys AS k (idempotency_key, workflow_id, task_name, request_fingerprint, status,
                                     locked_until, expires_at, owner_token)
  VALUES (%(key)s, %(scope)s, %(task_name)s, %(fingerprint)s, 'processing',
          (now() AT TIME ZONE 'UTC') + make_interval(secs => %(lock_s)s),
          (now() AT TIME ZONE 'UTC') + make_interval(secs => %(ttl_s)s), %(token)s::uuid)
  ON CONFLICT (idempotency_key, workflow_id) DO UPDATE
  SET task_name = EXCLUDED.task_name, request_fingerprint = EXCLUDED.request_fingerprint,
      status = 'processing', response_status = NULL, result_payload = NULL, response_headers = NULL,
      locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at, owner_token = EXCLUDED.owner_token,
      created_at = (now() AT TIME ZONE 'UTC')
  WHERE k.expires_at <= (now() AT TIME ZONE 'UTC')
     OR k.status = 'failed'
     OR (k.status = 'processing' AND (k.locked_until IS NULL OR k.locked_until <= (now() AT TIME ZONE 'UTC')))
  RETURNING k.*, TRUE AS claimed
)
SELECT * FROM claimed
UNION ALL
SELECT k.*, FALSE AS claimed FROM idempotency_keys k
WHERE k.idempotency_key = %(key)s AND k.workflow_id = %(scope)s AND NOT EXISTS (SELECT 1 FROM claimed)

-- name: get_key
SELECT * FROM idempotency_keys WHERE idempotency_key = %(key)s AND workflow_id = %(scope)s

-- name: complete_key
-- The holder records the outcome; a claim taken over meanwhile is still recorded unless the new holder
-- already completed (first completion wins).
UPDATE idempotency_keys
SET status = 'completed', response_status = %(status)s, result_payload = %(payload)s,
    response_headers = %(headers)s, locked_until = NULL
WHERE idempotency_key = %(key)s AND workflow_id = %(scope)s
  AND (owner_token = %(token)s::uuid OR status = 'processing')
  AND status <> 'completed'
RETURNING status

-- name: fail_key
UPDATE idempotency_keys
SET status = 'failed', result_payload = %(payload)s, locked_until = NULL
WHERE idempotency_key = %(key)s AND workflow_id = %(scope)s AND owner_token = %(token)s::uuid
  AND status = 'processing'

-- name: release_key
DELETE FROM idempotency_keys
WHERE idempotency_key = %(key)s AND workflow_id = %(scope)s AND owner_token = %(token)s::uuid
  AND status = 'processing'

-- name: renew_key
UPDATE idempotency_keys
SET locked_until = (now() AT TIME ZONE 'UTC') + make_interval(secs => %(lock_s)s)
WHERE idempotency_key = %(key)s AND workflow_id = %(scope)s AND owner_token = %(token)s::uuid
  AND status = 'processing'
RETURNING locked_until

-- name: prune_keys
-- Expired records, a batch at a time; an in-flight claim is never pruned under its holder.
DELETE FROM idempotency_keys
WHERE ctid IN (
  SELECT ctid FROM idempotency_keys
  WHERE expires_at <= (now() AT TIME ZONE 'UTC')
    AND NOT (status = 'processing' AND locked_until > (now() AT TIME ZONE 'UTC'))
  LIMIT %(batch)s
)
