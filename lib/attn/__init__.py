"""The code of the book *Attention, from the human eye to the Transformer*.

One module per chapter's material (see ``lib/README.md``); each function and class is shown on the page
that introduces it. This package is public: it never imports the course's grader (``autograder``).
"""
__version__ = "0.1.0"

import os as _os

if _os.environ.get("ATTN_SEED_OFFSET", "0") not in ("", "0"):  # the variant check's other seeds (attn.seeding)
    from attn.seeding import offset_every_seed, seed_offset

    offset_every_seed(seed_offset())
