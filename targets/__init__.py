"""Build targets: each reads only the IR and returns files as data."""
