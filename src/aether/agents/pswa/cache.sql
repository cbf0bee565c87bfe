-- name: cache_hit
UPDATE generated_scripts
SET hit_count = hit_count + 1, last_used_at = CURRENT_TIMESTAMP
WHERE cache_key = %(cache_key)s
RETURNING cache_key, topic_hash, writer, model, prompt_version, script_content, token_usage, hit_count;

-- name: cache_put
INSERT INTO generated_scripts (cache_key, topic_hash, writer, model, prompt_version, script_content, token_usage,
                               last_used_at)
VALUES (%(cache_key)s, %(topic_hash)s, %(writer)s, %(model)s, %(prompt_version)s, %(script_content)s,
        %(token_usage)s, CURRENT_TIMESTAMP)
ON CONFLICT (cache_key) DO NOTHING;
