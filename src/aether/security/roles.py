"""The PostgreSQL roles of migration 0006 and which process acts as which.

* `aether_owner` owns the schema's rights: migrations, maintenance (VACUUM, REINDEX, analytics partitions,
  audit pruning), backups and restores run on the owner's connection: the user named in
  AETHER_DATABASE_URL (or the embedded server's superuser), with no `SET ROLE`.
* `aether_app` has data access only (no DDL, no changes to audit rows or to the migration record). The
  gateway (`aether api`, the gateway of `aether up`) and the workers (`aether worker`, the worker that
  `aether up` starts, the worker inside `aether demo`) act as `aether_app` by default: their pooled
  connections, and the worker's claim and LISTEN connections, `SET ROLE aether_app`.
* `aether_readonly` reads everything but the password and session-token hashes (monitoring, analytics).

AETHER_DATABASE_ROLE overrides the default of those processes: another role name, or empty / `none` to keep
the URL's user. Every other command (the CLI, the scheduler, migrations) and library code use
AETHER_DATABASE_ROLE as given, unset meaning the URL's user.

Behind a transaction-mode pooler (AETHER_DATABASE_LISTEN=false) a session's `SET ROLE` would stick to a
server connection that the pooler then hands to other clients of the same user (maintenance, migrations),
so there the default is not applied: give the gateway and workers a URL that names aether_app itself (the
pooler keeps one server pool per user), and the workers serving the `maintenance` agent the owner's URL.
"""

from __future__ import annotations

import logging

from aether.config import Settings

log = logging.getLogger(__name__)

OWNER_ROLE = "aether_owner"
APP_ROLE = "aether_app"
READONLY_ROLE = "aether_readonly"
ROLES = (OWNER_ROLE, APP_ROLE, READONLY_ROLE)

_SETTING = "database_role"


def role_is_explicit(settings: Settings) -> bool:
    """Whether AETHER_DATABASE_ROLE was given (environment, .env, aether.toml or a keyword), even empty."""
    return _SETTING in settings.model_fields_set


def service_settings(settings: Settings) -> Settings:
    """Settings of a gateway or worker process: AETHER_DATABASE_ROLE defaults to aether_app."""
    if role_is_explicit(settings):
        return settings
    if not settings.database_listen:
        log.warning(
            "AETHER_DATABASE_LISTEN=false (a transaction-mode pooler): no SET ROLE %s, which would leak to the "
            "pooler's other clients; this process acts as the user of AETHER_DATABASE_URL (name %s there)",
            APP_ROLE,
            APP_ROLE,
        )
        return settings
    return settings.model_copy(update={_SETTING: APP_ROLE})


def owner_settings(settings: Settings) -> Settings:
    """Settings whose pools stay on the URL's user (the owner's connection), whatever the process's role."""
    if settings.database_role is None:
        return settings
    return settings.model_copy(update={_SETTING: None})
