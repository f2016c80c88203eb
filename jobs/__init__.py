"""Scheduled jobs (APScheduler): they compose messages into the outbox and drain it."""
