"""Executes one notebook top to bottom with a Jupyter kernel and writes the executed copy.

Usage: execute-notebook.py NOTEBOOK OUT_PATH KERNEL_NAME TIMEOUT_S

nbconvert's --execute numbers a cell only when the kernel announces the count in an
`execute_input` message, which the tslab kernel does not send, so its exports showed `In [ ]:`
for every cell. nbclient's NotebookClient.execute() numbers the code cells in the order they ran,
as Jupyter shows them after "Run All". The kernel starts in the notebook's folder.
"""
import os
import sys

import nbformat
from nbclient import NotebookClient


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src, out, kernel, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}})
    client.execute()
    tmp = out + ".tmp"
    nbformat.write(nb, tmp)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
