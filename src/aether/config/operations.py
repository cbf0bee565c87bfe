"""Operations: where and how often backups are made and how many are kept; how long finished rows and logs stay."""

from __future__ import annotations

from pydantic import Field

from aether.config.base import Section


class OperationsSettings(Section):
    heading = "Operations: backups and retention"

    scratch_grace_s: float = Field(
        600.0,
        ge=0,
        le=7 * 86400,
        description="The scratch job never removes a folder of AETHER_HOME/work changed this many seconds ago or "
        "less, whether or not a running task owns it.",
    )
    backup_offsite_url: str | None = Field(
        None,
        description="Second location for backup copies: a directory, file://, gs://bucket/prefix or s3://bucket/prefix.",
    )
    backup_retain_full: int = Field(
        7, ge=1, le=1000, description="Full backups kept (each with its incrementals); older ones and their WAL go."
    )
    backup_full_interval_hours: float = Field(
        24.0, gt=0, le=24 * 365, description="`aether backup create` makes a full backup when the last is this old."
    )
    retention_tasks_days: float = Field(30.0, gt=0, description="Finished tasks older than this are pruned.")
    retention_workflows_days: float = Field(90.0, gt=0, description="Finished workflows older than this are pruned.")
    retention_audit_days: float = Field(365.0, gt=0, description="Audit rows older than this are pruned (audited).")
    retention_logs_days: float = Field(14.0, gt=0, description="Embedded server log files older than this go.")
