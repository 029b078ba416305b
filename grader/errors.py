"""Errors the pipeline turns into an ``error`` row instead of a crash."""


class GradingError(Exception):
    """A submission could not be graded; the message is shown to the learner and instructor."""


class CourseError(Exception):
    """The course layout or configuration is wrong (an instructor's problem, not a learner's)."""
