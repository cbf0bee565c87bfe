-- name: ensure_secret
INSERT INTO gateway_secrets (name, secret) VALUES (%(name)s, %(secret)s) ON CONFLICT (name) DO NOTHING

-- name: get_secret
SELECT secret FROM gateway_secrets WHERE name = %(name)s

-- name: upsert_pending
INSERT INTO subscribers (show_id, email, status, confirmation_token_hash, confirmation_expires_at)
VALUES (%(show_id)s, %(email)s, 'pending', %(token_hash)s, LOCALTIMESTAMP + make_interval(secs => %(ttl_s)s))
ON CONFLICT (show_id, lower(email)) DO UPDATE
   SET status = 'pending', confirmation_token_hash = EXCLUDED.confirmation_token_hash,
       confirmation_expires_at = EXCLUDED.confirmation_expires_at, subscribed_at = LOCALTIMESTAMP,
       unsubscribed_at = NULL
 WHERE subscribers.status <> 'confirmed'
RETURNING id, email, status

-- name: existing_subscriber
SELECT id, email, status FROM subscribers WHERE show_id = %(show_id)s AND lower(email) = lower(%(email)s)

-- name: set_unsubscribe_hash
UPDATE subscribers SET unsubscribe_token_hash = %(hash)s WHERE id = %(id)s AND unsubscribe_token_hash IS NULL

-- name: confirm
UPDATE subscribers
   SET status = 'confirmed', confirmed_at = LOCALTIMESTAMP, confirmation_token_hash = NULL,
       confirmation_expires_at = NULL
 WHERE confirmation_token_hash = %(token_hash)s AND status = 'pending' AND confirmation_expires_at > LOCALTIMESTAMP
RETURNING id, email, show_id

-- name: unsubscribe
UPDATE subscribers
   SET status = 'unsubscribed', unsubscribed_at = LOCALTIMESTAMP, confirmation_token_hash = NULL
 WHERE unsubscribe_token_hash = %(token_hash)s
RETURNING id, email, show_id, status

-- name: list_subscribers
SELECT id, email, status, subscribed_at, confirmed_at, unsubscribed_at, created_at
  FROM subscribers
 WHERE show_id = %(show_id)s AND (%(after_id)s::int IS NULL OR id > %(after_id)s::int)
 ORDER BY id
 LIMIT %(limit)s

-- name: delete_subscriber
DELETE FROM subscribers WHERE id = %(id)s AND show_id = %(show_id)s RETURNING id
