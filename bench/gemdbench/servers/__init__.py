"""The benchmarked systems, by the names --systems takes, in their default order."""

from .gemd import Gemd
from .llama_cpp_python import LlamaCppPython
from .llama_server import LlamaServer

CLASSES = {"gemd": Gemd, "llama-server": LlamaServer, "llama-cpp-python": LlamaCppPython}
SYSTEMS = list(CLASSES)
