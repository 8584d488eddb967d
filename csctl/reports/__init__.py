"""Summaries for the supervisor and for cron: daily, weekly, monthly and the performance table."""
