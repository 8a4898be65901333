"""phatnguoi: the application package. It composes ingest/, detection/, cases/ and notices/."""

__version__ = "0.1.0"
