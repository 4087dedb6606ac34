"""Everything the processor reads from its environment; the infrastructure sets exactly these variables."""

from __future__ import annotations

from dataclasses import dataclass

from contract.config import FunctionSettings, SettingsError, setting


@dataclass(frozen=True)
class ProcessorSettings(FunctionSettings):
    orphan_after_seconds: int = setting(
        "ORPHAN_AFTER_SECONDS",
        900,
        help="how long a half may wait for its other half before the sweep records it as an orphan",
    )
    interim_ttl_seconds: int = setting(
        "INTERIM_TTL_SECONDS",
        86_400,
        help="lifetime of an interim QueryEvents item, so the table stays small",
    )
    service_name: str = setting(
        "POWERTOOLS_SERVICE_NAME", "cv-analytics-processor", help="service name in logs and metrics"
    )

    def validate(self) -> None:
        super().validate()
        if self.orphan_after_seconds < 0:
            raise SettingsError(f"ORPHAN_AFTER_SECONDS={self.orphan_after_seconds} must be 0 or more")
        if self.interim_ttl_seconds <= self.orphan_after_seconds:
            raise SettingsError(
                f"INTERIM_TTL_SECONDS={self.interim_ttl_seconds} must exceed "
                f"ORPHAN_AFTER_SECONDS={self.orphan_after_seconds}, or pending items expire before the sweep"
            )
