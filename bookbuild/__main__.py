"""``python -m bookbuild build|serve [PORT]|run-page|sync-install-cells`` (``bookbuild.build``) and
``python -m bookbuild variants`` (``bookbuild.variants``, the variant check)."""
import sys

if sys.argv[1:2] == ["variants"]:
    from bookbuild.variants import main as variants_main

    sys.exit(variants_main(sys.argv[2:]))

from bookbuild.build import main

sys.exit(main(sys.argv[1:]))
