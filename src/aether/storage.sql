-- name: insert_asset
INSERT INTO assets (name, type, path, metadata, sha256, byte_size, mime_type, render_key, workflow_id)
VALUES (%(name)s, %(type)s, %(path)s, %(metadata)s, %(sha256)s, %(byte_size)s, %(mime_type)s, %(render_key)s,
        %(workflow_id)s)
ON CONFLICT (sha256, type) DO NOTHING
RETURNING id, name, type, path, metadata;

-- name: asset_by_sha256
SELECT id, name, type, path, metadata FROM assets WHERE sha256 = %(sha256)s AND type = %(type)s;

-- name: assets_by_render_key
SELECT id, name, type, path, metadata FROM assets WHERE render_key = %(render_key)s ORDER BY id;

-- name: asset_by_id
SELECT id, name, type, path, metadata FROM assets WHERE id = %(id)s;
