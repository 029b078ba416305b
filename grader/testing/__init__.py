"""The pytest side of grading: fixtures that are the tests' only window onto learner code."""
