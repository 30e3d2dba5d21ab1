"""Names the dead-code check (vulture, in `make test`) cannot see used: keep this list short.

Each is used, but not by a call vulture can follow:
"""

# fields read by name: dataclasses.asdict / JSON output, getattr over feature names, SQLite rows
timings_ms  # assistant/answer.py, ui/api.py: part of the JSON answer object
sentence_coverage  # assistant/answering/decision.py: Evidence.vector() reads fields by name
passage_coverage
missing_rare
asks_kind
created_at  # assistant/feedback.py: a stored column
chunks_embedded  # ingest/pipeline.py: in the ingest --json summary
_.chunks_embedded
files_relabelled  # ingest/pipeline.py: in the ingest --json summary
_.files_relabelled
documents  # ui/api.py: /api/health field
proxy_headers  # ui/app.py: ServerOptions, keyword arguments of uvicorn
timeout_graceful_shutdown
gold_evidence  # evaluation/dataset.py: read by the gold-quote test
# hooks that pydantic, pydantic-settings and FastAPI call by decorator or by name
model_config
_._split_keys
_._check_pairs
_._check_networks
_._check_root_path
_._check_key_groups
_._check_user_groups
_.settings_customise_sources
dotenv_settings
file_secret_settings
_api_error
_invalid
_assistant_error
_http_error
_unexpected
unknown_path
models  # ui/openai_api.py: the /v1 routes
chat_completions
search_documents  # ui/mcp_server.py: an MCP tool, called by name
# parameters that a caller's signature imposes (pdfplumber's text visitor, tqdm's interface,
# LangChain's BaseRetriever)
font
refresh
_get_relevant_documents  # assistant/langchain.py
run_manager
_.invoke  # assistant/langchain.py: AnswerRunnable, LangChain's Runnable interface
_.astream
forward  # assistant/onnx_encoder.py: torch.nn.Module's interface, called by torch
graph_optimization_level  # assistant/onnx_encoder.py: read by onnxruntime
intra_op_num_threads  # assistant/onnx_encoder.py: read by onnxruntime
inter_op_num_threads  # assistant/onnx_encoder.py: read by onnxruntime
# used by tests and benchmarks only
_.iter_chunks  # bench/ingest.py, tests/test_ingest.py
evaluation_corpus  # tests/conftest.py, bench/naive_baseline.py
