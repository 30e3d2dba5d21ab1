"""IOM Assistant: answers from IOM documents, with citations.

The core library: settings, errors, the index (embedder + Chroma), retrieval,
answering and the service that the CLI, the HTTP API and the chat UI call.
"""

__version__ = "0.1.0"
