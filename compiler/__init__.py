"""Lowering raw policies to the IR, the checks, the funnel arithmetic."""
