"""Stage 8, report: feedback per learner (terminal and HTML) and the class report."""
