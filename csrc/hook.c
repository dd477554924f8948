/* xcs._hook: PEP 523 frame-evaluation hook (placeholder until the hook issue lands).
 *
 * It knows nothing about loops: it will store, per code object, what Python
 * hands it and run that instead. For now it only proves the build works.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef hook_module = {
    PyModuleDef_HEAD_INIT, "xcs._hook",
    "PEP 523 frame-evaluation hook for XCS.", -1, NULL,
};

PyMODINIT_FUNC
PyInit__hook(void)
{
    return PyModule_Create(&hook_module);
}
