"""The registry's names: one normaliser for the whole package lives in `xcs.analysis.names`."""
from xcs.analysis.names import (DESCRIPTORS, MODULE_ALIASES, defining_class, public_name,  # noqa: F401
                                qualified_name, type_name)
