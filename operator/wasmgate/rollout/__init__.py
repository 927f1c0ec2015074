"""Render scheduler configurations, roll the scheduler Deployment and roll back on failure."""
