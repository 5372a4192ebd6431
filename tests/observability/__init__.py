"""Alerts and dashboards: the rules and panels promtool checks, the series they read."""
