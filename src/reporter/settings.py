"""Everything the reporter reads from its environment; the infrastructure sets exactly these variables."""

from __future__ import annotations

from dataclasses import dataclass

from contract.config import AwsSettings, setting


@dataclass(frozen=True)
class ReporterSettings(AwsSettings):
    report_timezone: str = setting(
        "REPORT_TIMEZONE", "Europe/London", help="IANA time zone in which a report week runs Monday to Sunday"
    )
    report_sender: str = setting("REPORT_SENDER", "", help="verified SES identity the report is sent from")
    report_recipients: tuple[str, ...] = setting(
        "REPORT_RECIPIENTS", (), help="comma-separated addresses the report is sent to"
    )
    dlq_url: str = setting("DLQ_URL", "", help="URL of the dead-letter queue whose depth the report shows")
    service_name: str = setting(
        "POWERTOOLS_SERVICE_NAME", "cv-analytics-reporter", help="service name in logs and metrics"
    )
    metrics_namespace: str = setting(
        "POWERTOOLS_METRICS_NAMESPACE", "CvAnalytics", help="CloudWatch namespace of the EMF metrics"
    )
    log_level: str = setting("POWERTOOLS_LOG_LEVEL", "INFO", help="DEBUG, INFO, WARNING or ERROR")
