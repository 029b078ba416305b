"""Authoring the course: chapter sources in MyST Markdown, carried code, and the build behind ``grader release``."""
