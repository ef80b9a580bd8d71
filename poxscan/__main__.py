import sys

from poxscan.cli import main

sys.exit(main())
