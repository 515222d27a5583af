"""Failover drills: calls held through a failure, short test calls beside them, and where media went."""
