"""readiness: is this network ready for voice? Measure, judge against a profile, report."""

__version__ = "0.1.0"
