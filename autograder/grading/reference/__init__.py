"""Reference implementations, one module per assignment (``qkv`` is assignment 03)."""
