"""The standard Jupyter kernel conformance suite (Debian's python3-jupyter-kernel-test)
for the Petrel kernel, with TypeScript samples for every test it has.

Run by test/jupyter/conformance.test.ts with the kernelspec installed in a
temporary prefix (JUPYTER_PATH) and PETREL_NOTEBOOK_DIR, a folder with no
node_modules, as the kernel's working directory.
"""

import os
import unittest

import jupyter_kernel_test
from jupyter_client.manager import start_new_kernel


class PetrelKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "petrel"
    language_name = "typescript"
    file_extension = ".ts"

    @classmethod
    def setUpClass(cls):
        # As Jupyter starts kernels: in the notebook's own folder.
        cls.km, cls.kc = start_new_kernel(kernel_name=cls.kernel_name, cwd=os.environ["PETREL_NOTEBOOK_DIR"], startup_timeout=60)

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("something went wrong")'

    completion_samples = [
        {"text": "Math.ma", "matches": {"max"}},
        {"text": "const petrelSampleValue = 1;\npetrelSampleVa", "matches": {"petrelSampleValue"}},
    ]

    complete_code_samples = ["1", "const x = 1;", "function f(): number { return 1; }", "%petrel run training"]
    incomplete_code_samples = ["function f() {", "const xs = [1,", "if (true) {", "const s = `multi"]
    invalid_code_samples = ["1 +* 2", "let 1x = 2;", "const = 1;"]

    code_generate_error = 'throw new Error("this cell fails")'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"hello"', "result": "'hello'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
        {"code": "[1, 2, 3].findLast((x) => x < 3)", "result": "2"},
    ]

    code_display_data = [
        {"code": 'display.html("<b>bold</b>")', "mime": "text/html"},
        {"code": 'display.svg("<svg xmlns=\\"http://www.w3.org/2000/svg\\"></svg>")', "mime": "image/svg+xml"},
        {"code": 'display({ [Symbol.for("Jupyter.display")]: () => ({ "text/markdown": "**rich**" }) })', "mime": "text/markdown"},
    ]

    # Globs over a whole input, as IPython's history search: matches "6 * 7".
    code_history_pattern = "6*7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "Math.max"

    code_clear_output = 'display.clear()'


if __name__ == "__main__":
    unittest.main()
