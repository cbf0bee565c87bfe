"""The gateway (web app and API): sessions, logins, request bodies and its in-memory caches."""

from __future__ import annotations

import ipaddress

from pydantic import Field, SecretStr, field_validator

from aether.config.base import Section


class GatewaySettings(Section):
    heading = "Gateway"

    session_ttl_hours: float = Field(
        336.0, gt=0, le=24 * 365, description="Hours a login session lives without use (renewed on every use)."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body the API accepts; larger ones get 413."
    )
    session_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="Seconds a gateway process trusts a checked session token (0 = check every time); "
        "logouts and changes reach every process at once through LISTEN/NOTIFY.",
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins per email and address within the window before 429."
    )
    login_max_failures_per_address: int = Field(
        100,
        ge=1,
        description="Failed logins from one address, whatever the emails, within the window before 429; far above "
        "the per-email limit, as many people may share one address (a proxy, a NAT).",
    )
    login_window_seconds: int = Field(900, ge=1, description="Window for counting failed logins, in seconds.")
    trusted_proxies: str = Field(
        "",
        description="Comma-separated IP addresses or CIDR networks of reverse proxies whose X-Forwarded-For names the "
        "client (empty: the peer's address is the client's; the header is ignored).",
    )
    list_cache_seconds: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="Seconds a gateway process serves a rendered page of a show's episode list from memory at most "
        "(0 = off); any change to the show's episodes drops it at once through LISTEN/NOTIFY.",
    )
    feed_cache_seconds: float = Field(
        5.0, ge=0, le=3600, description="Seconds a generated RSS feed is served from memory before re-checking."
    )

    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token that opens /metrics on the gateway's port (`Authorization: Bearer <token>`); an "
        "admin's session opens it too. Unset: /metrics there is 404 to everyone else.",
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Serve /metrics, without a token, on this port of 127.0.0.1 too, beside the gateway "
        "(`aether api` and `aether up`), for a Prometheus on the same machine.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip():
                try:
                    ipaddress.ip_network(item.strip(), strict=False)
                except ValueError:
                    raise ValueError(f"{item.strip()!r} is not an IP address or CIDR network") from None
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """AETHER_TRUSTED_PROXIES parsed."""
        items = [item.strip() for item in self.trusted_proxies.split(",")]
        return tuple(ipaddress.ip_network(item, strict=False) for item in items if item)
