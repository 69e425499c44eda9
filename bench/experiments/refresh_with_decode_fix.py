"""`referral-insights` with the proposed ingestion decode fix monkeypatched in (nothing in
orchestration/ is changed): same arguments as the CLI, e.g.

    python bench/experiments/refresh_with_decode_fix.py refresh --raw-dir RAW --warehouse WH

See ingest_decode_ab.py for the change and its equivalence check.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_decode_ab import proposed_decode_sql  # noqa: E402

from orchestration.cli import main  # noqa: E402
from orchestration.ingestion import validation  # noqa: E402

validation._decode_sql = proposed_decode_sql

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
