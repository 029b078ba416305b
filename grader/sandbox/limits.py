"""Resource limits for the learner process (set in the child between fork and exec)."""

from __future__ import annotations

import os
import resource

from pydantic import BaseModel


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

    def apply(self) -> None:
        """Runs in the child before exec: no Python state of the parent is touched."""
        mb = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (self.memory_mb * mb, self.memory_mb * mb))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_size_mb * mb, self.file_size_mb * mb))
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # Counted per uid, so it bites once the sandbox has switched to the slot's uid (root is exempt).
        resource.setrlimit(resource.RLIMIT_NPROC, (self.processes, self.processes))
        os.umask(0o077)
