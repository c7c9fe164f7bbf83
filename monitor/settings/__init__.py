"""Settings: both TOML files read and validated into typed, frozen settings (channels included).

Every problem in either file is collected and raised at once as a ConfigError; the read-only
commands take the sound parts instead (``read_for_queries``).
"""

from monitor.settings.articles import ArticleMode, ArticlesConfig
from monitor.settings.channel_settings import Secret
from monitor.settings.channels import check_cron
from monitor.settings.config import (
    CONFIG_FILES,
    Config,
    FeedConfig,
    MatchingConfig,
    PollingConfig,
    StorageConfig,
    StoriesConfig,
    WatchItem,
    load_config,
    load_watchlist,
    parse_duration,
    summarise,
)
from monitor.settings.location import (
    ConfigLocation,
    default_config_text,
    default_watch_items,
    find_config_dir,
)
from monitor.settings.readonly import ReadOnlySettings, read_for_queries, unreadable_config
from monitor.settings.tables import MAX_DURATION, format_duration

__all__ = ["CONFIG_FILES", "MAX_DURATION", "ArticleMode", "ArticlesConfig", "Config",
           "ConfigLocation", "FeedConfig",
           "MatchingConfig", "PollingConfig", "ReadOnlySettings", "Secret", "StorageConfig",
           "StoriesConfig", "WatchItem", "check_cron", "default_config_text", "default_watch_items",
           "find_config_dir", "format_duration", "load_config", "load_watchlist",
           "parse_duration", "read_for_queries", "summarise", "unreadable_config"]
