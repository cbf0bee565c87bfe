"""Operations: backups and point-in-time recovery, maintenance jobs, metrics, health and status."""
