"""archive: a folder of news articles as a queryable document store."""

__version__ = "0.1.0"
