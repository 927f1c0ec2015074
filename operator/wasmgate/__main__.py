"""Allows `python -m wasmgate`, used where the console script is not on PATH."""

import sys

from wasmgate.cli import main

sys.exit(main())
