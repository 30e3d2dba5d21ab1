"""`iom-assistant`: the command line. Each command parses, calls one service, prints.

This is the composition root: it builds the settings once and wires the layers, so
`ingest`, `ui` and `evaluation` are imported here lazily, inside their commands
(keeping `--help` fast and free of torch).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.errors import AssistantError
from assistant.settings import PROVIDERS, Settings, load_settings

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(index_dir=getattr(args, "index_dir", None))
        return int(args.command(args, settings))
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iom-assistant", description="Answers from IOM documents, with citations."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="index documents (incremental)")
    ingest.add_argument("paths", nargs="*", type=Path, help="folders or files (default: the corpus folder)")
    ingest.add_argument("--index-dir", type=Path, help="index folder (default: IOM_ASSISTANT_INDEX_DIR)")
    ingest.add_argument("--rebuild", action="store_true", help="drop the index and embed everything again")
    ingest.add_argument("--strict", action="store_true", help="exit 1 when any file fails")
    ingest.add_argument(
        "--allow-mass-removal",
        action="store_true",
        help="let this run remove more than half of the indexed files (they were deleted on purpose)",
    )
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")
    ingest.set_defaults(command=_ingest)

    ask = commands.add_parser("ask", help="answer a question from the index")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print the answer object as JSON")
    ask.add_argument("--provider", choices=PROVIDERS, help="answering backend")
    ask.add_argument("--index-dir", type=Path, help="index folder (default: IOM_ASSISTANT_INDEX_DIR)")
    ask.set_defaults(command=_ask)

    serve = commands.add_parser("serve", help="serve the chat UI and the HTTP API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    serve.set_defaults(command=_serve)

    mcp = commands.add_parser("mcp", help="serve the MCP tools (search_documents, ask) over stdio")
    mcp.add_argument("--index-dir", type=Path, help="index folder (default: IOM_ASSISTANT_INDEX_DIR)")
    mcp.set_defaults(command=_mcp)

    evaluate = commands.add_parser("eval", help="measure answer quality on a dataset")
    evaluate.add_argument("--dataset", type=Path, help="JSONL questions (see DESIGN.md)")
    evaluate.add_argument("--out", type=Path, default=Path("eval-out"), help="folder for the reports")
    evaluate.add_argument("--baseline", type=Path, help="metrics.json of a saved run; exit 1 on a regression")
    evaluate.add_argument("--provider", choices=PROVIDERS, help="answering backend")
    evaluate.add_argument("--index-dir", type=Path, help="index folder (default: IOM_ASSISTANT_INDEX_DIR)")
    evaluate.add_argument("--judge-url", help="OpenAI-compatible endpoint of an LLM judge (optional)")
    evaluate.add_argument("--judge-model", default="default", help="model name sent to the judge endpoint")
    evaluate.add_argument(
        "--from-feedback", type=Path, help="exported feedback JSONL to turn into draft cases"
    )
    evaluate.add_argument("--out-dataset", type=Path, help="where --from-feedback writes the draft cases")
    evaluate.set_defaults(command=_eval)

    feedback = commands.add_parser("feedback", help="user feedback collected by the chat")
    feedback_commands = feedback.add_subparsers(required=True, metavar="ACTION")
    export = feedback_commands.add_parser("export", help="write feedback as JSONL")
    export.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    export.set_defaults(command=_feedback_export)
    return parser


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.index import Index
    from ingest.pipeline import IngestOptions, Ingestor

    options = IngestOptions.from_settings(
        settings,
        rebuild=args.rebuild,
        progress=sys.stderr.isatty(),
        allow_mass_removal=args.allow_mass_removal,
    )
    summary = Ingestor(Index.from_settings(settings), options).run(args.paths or [settings.corpus_dir])
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(
            f"{summary.files_indexed} indexed, {summary.files_unchanged} unchanged, "
            f"{summary.files_relabelled} with new readers, {summary.files_removed} removed, "
            f"{len(summary.files_failed)} failed of "
            f"{summary.files_seen} files; {summary.chunks_added} chunks added, "
            f"{summary.chunks_removed} removed, {summary.chunks_total} in the index "
            f"({summary.seconds:.1f} s)"
        )
        for failure in summary.files_failed:
            print(f"  failed: {failure.path}: {failure.error}")
    return 1 if args.strict and summary.files_failed else 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import AssistantService

    answer = AssistantService(settings).ask(args.question, provider=args.provider)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(answer.answer)
    for citation in answer.citations:
        page = f", page {citation.page}" if citation.page else ""
        print(f"  [{citation.n}] {citation.title} ({citation.source_id}{page})")
    if answer.refused and answer.retrieved:
        print("Closest sources:")
        for passage in answer.retrieved[:3]:
            print(f"  - {passage.title or passage.source_id} ({passage.source_id})")
    for notice in answer.notices:
        print(f"note: {notice}", file=sys.stderr)
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    if args.from_feedback:
        from evaluation.from_feedback import feedback_to_cases

        if not args.out_dataset:
            raise AssistantError("--from-feedback needs --out-dataset FILE")
        count = feedback_to_cases(args.from_feedback, args.out_dataset)
        print(f"{count} draft case(s) written to {args.out_dataset}; complete their answers before use")
        return 0
    if not args.dataset:
        raise AssistantError("eval needs --dataset FILE (or --from-feedback FILE --out-dataset FILE)")
    from evaluation.run import run_evaluation

    judge = None
    if args.judge_url:
        from assistant.answering.llm import ChatModelSpec, LangChainChat
        from evaluation.judge import Judge

        spec = ChatModelSpec(
            args.judge_model,
            model_provider="openai",  # the judge is an OpenAI-compatible endpoint
            base_url=args.judge_url,
            api_key=settings.llm_api_key,
            timeout_s=settings.llm_timeout_s,
        )
        chat = LangChainChat(spec)
        judge = Judge(chat)
    outcome = run_evaluation(
        settings,
        args.dataset,
        args.out,
        baseline=args.baseline,
        provider=args.provider,
        progress=sys.stderr.isatty(),
        judge=judge,
    )
    print(outcome.summary())
    return 1 if outcome.regressed else 0


def _feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.feedback import export_feedback

    count = export_feedback(settings, args.out)
    print(f"{count} feedback record(s) written to {args.out}")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from ui.app import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import AssistantService
    from ui.mcp_server import build_mcp_server

    # The local user reads every document, as with `ask`; stdout carries the protocol only.
    build_mcp_server(AssistantService(settings)).run("stdio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
