"""`python -m xcs` sub-commands, one module each (`demo`, `run`, `explain`).

The top layer: may import any layer of `xcs`; nothing in `xcs` imports it but `__main__`.
"""
