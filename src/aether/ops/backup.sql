-- name: insert_backup
INSERT INTO backups (id, kind, parent_id, status, location, server_version, system_identifier, timeline, started_at)
VALUES (%(id)s, %(kind)s, %(parent_id)s, 'running', %(location)s, %(server_version)s, %(system_identifier)s,
        %(timeline)s, %(started_at)s)

-- name: complete_backup
UPDATE backups
SET status = 'completed', finished_at = %(finished_at)s, start_lsn = %(start_lsn)s, end_lsn = %(end_lsn)s,
    start_wal = %(start_wal)s, check_lsn = %(check_lsn)s, size_bytes = %(size_bytes)s,
    row_counts = %(row_counts)s, timeline = %(timeline)s, system_identifier = %(system_identifier)s, error = NULL
WHERE id = %(id)s

-- name: fail_backup
UPDATE backups SET status = 'failed', finished_at = CURRENT_TIMESTAMP, error = %(error)s WHERE id = %(id)s

-- name: upsert_backup
INSERT INTO backups (id, kind, parent_id, status, location, server_version, system_identifier, timeline,
                     start_lsn, end_lsn, start_wal, check_lsn, size_bytes, row_counts, started_at, finished_at)
VALUES (%(id)s, %(kind)s, %(parent_id)s, 'completed', %(location)s, %(server_version)s, %(system_identifier)s,
        %(timeline)s, %(start_lsn)s, %(end_lsn)s, %(start_wal)s, %(check_lsn)s, %(size_bytes)s, %(row_counts)s,
        %(started_at)s, %(finished_at)s)
ON CONFLICT (id) DO UPDATE SET status = 'completed', finished_at = EXCLUDED.finished_at,
    start_lsn = EXCLUDED.start_lsn, end_lsn = EXCLUDED.end_lsn, start_wal = EXCLUDED.start_wal,
    check_lsn = EXCLUDED.check_lsn, size_bytes = EXCLUDED.size_bytes, row_counts = EXCLUDED.row_counts
WHERE backups.status IN ('running', 'completed')

-- name: mark_offsite
UPDATE backups SET offsite_url = %(offsite_url)s, offsite_copied_at = CURRENT_TIMESTAMP WHERE id = %(id)s

-- name: mark_removed
UPDATE backups SET status = 'removed' WHERE id = ANY(%(ids)s) AND status <> 'removed'

-- name: record_verification
UPDATE backups
SET verified_at = CURRENT_TIMESTAMP, verify_status = %(verify_status)s, verify_detail = %(verify_detail)s
WHERE id = %(id)s

-- name: list_backups
SELECT id, kind, parent_id, status, location, offsite_url, offsite_copied_at, server_version, system_identifier,
       timeline, start_lsn::TEXT AS start_lsn, end_lsn::TEXT AS end_lsn, start_wal, check_lsn::TEXT AS check_lsn,
       size_bytes, row_counts, started_at, finished_at, verified_at, verify_status, verify_detail, error
FROM backups
WHERE %(include_removed)s OR status <> 'removed'
ORDER BY started_at, id

-- name: server_identity
SELECT current_setting('server_version') AS server_version,
       (SELECT system_identifier::TEXT FROM pg_control_system()) AS system_identifier,
       (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline,
       current_setting('archive_mode') AS archive_mode,
       current_setting('summarize_wal', true) AS summarize_wal,
       current_database() AS database

-- name: switch_wal
SELECT pg_walfile_name(pg_switch_wal()) AS walfile

-- name: archiver_status
SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time
FROM pg_stat_archiver

-- name: wal_insert_lsn
SELECT pg_current_wal_insert_lsn()::TEXT AS lsn

-- name: export_snapshot
SELECT pg_export_snapshot() AS snapshot
