"""`python -m wasmgate_kit ACTION`: the same as the `wasmgate-kit` command."""

import sys

from wasmgate_kit.cli import main

sys.exit(main())
