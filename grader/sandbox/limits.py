"""Resource limits for the learner process (set in the child between fork and exec)."""

from __future__ import annotations

import os
import resource

from pydantic import BaseModel

# One answer line on the channel from the learner process. The largest real answer (a cell list, a probe's
# observations, a response) is tens of KiB; a line is parsed whole in the grading process, so its cap bounds
# that process's memory (a 64 MiB line of tiny JSON objects took 1.6-3.1 GiB). The worker answers a bigger
# value with an ``AnswerTooLarge`` error; a longer line all the same is a flood, and the process is stopped.
MAX_ANSWER_BYTES = 4 * 2**20


class Limits(BaseModel):
    """How much one learner process may use. Wall-clock limits are enforced by the parent."""

    memory_mb: int = 2048
    cpu_seconds: int = 120
    file_size_mb: int = 64
    open_files: int = 256
    processes: int = 256  # threads count too: aiosqlite runs one per connection
    cell_timeout: float = 10.0
    request_timeout: float = 10.0
    submission_timeout: float = 180.0
    output_bytes: int = 64_000
    # The grading process (pytest and the checks, never learner code) reads what the learner sends: its
    # heap is capped too, so a flood it did not foresee costs one error row, not the machine.
    grader_memory_mb: int = 3072

    def apply_to_grader(self) -> None:
        """The soft data limit of this grading process (its learner processes reset it in ``apply``)."""
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        limit = self.grader_memory_mb * 1024 * 1024
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))

    def apply(self) -> None:
        """Runs in the child before exec: no Python state of the parent is touched."""
        mb = 1024 * 1024
        _, data_hard = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(resource.RLIMIT_DATA, (data_hard, data_hard))  # the grading process's own cap
        resource.setrlimit(resource.RLIMIT_AS, (self.memory_mb * mb, self.memory_mb * mb))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_size_mb * mb, self.file_size_mb * mb))
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # Counted per uid, so it bites once the sandbox has switched to the slot's uid (root is exempt).
        resource.setrlimit(resource.RLIMIT_NPROC, (self.processes, self.processes))
        os.umask(0o077)
