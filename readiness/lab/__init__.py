"""The local lab `readiness demo` starts on loopback: far ends for every probe, stopped on exit."""
