"""`python -m sandbox [--port 8600] [--from DIR]` (the same as `referral-insights sandbox`)."""

import sys

from orchestration.cli import main

sys.exit(main(["sandbox", *sys.argv[1:]]))
