/* The extension module holding the per-stream rules in C (wireshark_rtp.c, rfc3550_rtp.c). Python code
 * reaches their functions through ctypes (compiled.py), which releases the GIL; the module itself only
 * makes the shared library importable and findable. */
#include <Python.h>

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_stream_rules", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__stream_rules(void) { return PyModule_Create(&module); }
