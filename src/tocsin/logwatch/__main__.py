"""``python -m tocsin.logwatch --config FILE --state-dir DIR --port N`` (how ``tocsin up`` starts it)."""

import sys

from ._run import main

sys.exit(main())
