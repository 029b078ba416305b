"""The grading pipeline, one module per stage:

load -> restore -> extract -> sandbox -> run_tests -> score -> write

Each stage takes the previous stage's output and returns plain data; ``grader.grade`` chains them.
"""
