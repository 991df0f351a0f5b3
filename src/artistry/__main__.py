import sys

from .cli.main import app

sys.exit(app())
