"""``python -m bookbuild build|serve [PORT]`` (see ``bookbuild.build``)."""
import sys

from bookbuild.build import main

sys.exit(main(sys.argv[1:]))
