# nbgrader configuration of the Async API Workbook course.
c = get_config()  # noqa: F821

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# Hidden tests stay with the instructor: never released, and found in solutions/ by the grader
# (and by check(..., hidden=True) under nbgrader autograde). A chapter's text source (CH.md, paired with
# CH.ipynb by jupytext) holds the answers, so it is never released either.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "hidden_tests", "*.md"]
# A learner who deletes a test cell does not escape it: autograde puts it back.
c.OverwriteCells.add_missing_cells = True
c.ExecutePreprocessor.timeout = 60
