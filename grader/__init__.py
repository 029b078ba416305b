"""Async API Workbook grader."""
