"""Async API Workbook grader."""

import sys

# jsonschema (imported by nbformat) compiles rfc3987-syntax's grammar at import: 2.3 s of every
# grading process's start-up, for the "iri" string formats that no notebook schema uses.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
