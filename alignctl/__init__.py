"""alignctl: the Marketing-Sales service level agreement as code."""

__version__ = "0.1.0"
