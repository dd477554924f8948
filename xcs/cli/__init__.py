"""`python -m xcs` sub-commands, one module each (`demo`, `run`, `explain`)."""
