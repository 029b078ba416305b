"""Everything that runs on the learner's side of the process boundary, and the parent that drives it."""
