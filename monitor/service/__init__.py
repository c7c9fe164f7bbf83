"""The long-running monitor: its parts opened together (Monitor), digest dispatch, health and
logs. The scheduler (APScheduler) is imported from ``monitor.service.scheduler`` by `run` only."""

from monitor.service.dispatch import deliver, resend
from monitor.service.health import assess, outage_line
from monitor.service.logs import LOG_FORMATS, configure_logging
from monitor.service.monitor import Monitor

__all__ = ["LOG_FORMATS", "Monitor", "assess", "configure_logging", "deliver", "outage_line",
           "resend"]
