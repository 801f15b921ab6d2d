"""Executes one notebook with nbclient in the `petrel` kernel, in the notebook's own
folder, and writes the executed notebook to a path: `run_notebook.py IN OUT`.
Exits 1 (after writing) when a cell fails."""
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

source, target = sys.argv[1], sys.argv[2]
folder = sys.argv[3]
nb = nbformat.read(source, as_version=4)
status = 0
try:
    NotebookClient(nb, kernel_name="petrel", timeout=180, resources={"metadata": {"path": folder}}).execute()
except CellExecutionError as e:
    print(str(e)[:4000], file=sys.stderr)
    status = 1
nbformat.write(nb, target)
sys.exit(status)
