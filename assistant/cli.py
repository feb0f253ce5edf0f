"""assistant ingest | ask | status | ui | eval | feedback | passwd — a thin layer over the Python API.

Quiet by default: a one-shot command prints its result (and an ingest its progress bar); library progress bars and
warnings stay off (config.py sets the variables before the libraries load). ``-v`` shows loading and timings.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from .locations import describe
from .types import Answer, Evidence

EXIT_ERROR = 2
log = logging.getLogger("assistant")


def _configure_output(verbose: bool) -> None:
    # The handler's level, not the root logger's, is what filters: some libraries set their own loggers to DEBUG.
    handler = logging.StreamHandler(sys.stderr)
    if verbose:
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter("%(relativeCreated)7.0f ms  %(name)s: %(message)s"))
        log.setLevel(logging.INFO)
        for chatty in ("bm25s", "httpx", "httpcore", "urllib3", "chromadb"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    else:
        handler.setLevel(logging.ERROR)
        warnings.simplefilter("ignore")  # deprecation notes from libraries are for their developers, not for users
    logging.basicConfig(handlers=[handler], level=logging.INFO if verbose else logging.ERROR, force=True)


@contextmanager
def _timed(what: str):
    started = time.perf_counter()
    yield
    log.info("%s: %.2f s", what, time.perf_counter() - started)


def _load(assistant) -> None:
    """With -v, open the index and load the answer model up front, so each one's time is shown."""
    from .store import index_exists

    if not log.isEnabledFor(logging.INFO) or not index_exists(assistant.settings):
        return  # an empty index is reported by the question itself
    with _timed(f"opened the index and loaded the embedder {assistant.settings.embed_model}"):
        assistant.index  # noqa: B018 (the property loads)
    if assistant.settings.llm != "extractive" and assistant.has_documents():
        with _timed(f"loaded the answer model {assistant.settings.llm}"):
            assistant.chain  # noqa: B018


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", dest="index_dir", type=Path, help="index folder (default: index/)")
    parser.add_argument("--llm", help="answer backend, provider:model (e.g. extractive, llamacpp, openai:NAME)")
    _verbose(parser)


def _settings(args) -> dict:
    return {k: getattr(args, k, None) for k in ("index_dir", "llm")}


def _verbose(parser: argparse.ArgumentParser, default=argparse.SUPPRESS) -> None:
    # SUPPRESS in the subcommands, so `assistant -v ask` and `assistant ask -v` both work
    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="show what loads and how long each step takes (on stderr)")


def _progress_bar(desc: str):
    from tqdm import tqdm

    bar = tqdm(total=0, desc=desc, unit="file", file=sys.stderr, dynamic_ncols=True)

    def update(done: int, total: int, note: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(note[-60:], refresh=False)
        bar.refresh()

    return bar, update


def cmd_ingest(args) -> int:
    from .api import Assistant

    assistant = Assistant(**_settings(args))
    bar, update = _progress_bar("indexing")
    try:
        report = assistant.ingest(args.paths or None, progress=update, follow_symlinks=args.follow_symlinks)
    finally:
        bar.close()
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(report.summary())
    return 0


def render(result: Answer) -> str:
    lines = [] if result.refused else [""]
    for c in result.citations:
        place = describe(c.page, c.section)
        lines.append(f"[{c.n}] {c.source}{f' ({place})' if place else ''} @{c.start}-{c.end}: \u201c{c.quote}\u201d")
    if result.refused and result.passages:
        lines.append("\nClosest passages:")
        for i, p in enumerate(result.passages[:3], start=1):
            snippet = " ".join(p.text.split())[:240]
            lines.append(f"  {i}. {p.source} @{p.start}-{p.end} (relevance {p.relevance:.2f}): {snippet}")
    return "\n".join(lines)


def cmd_ask(args) -> int:
    from .api import Assistant

    assistant = Assistant(**_settings(args))
    _load(assistant)
    if args.json:
        result = assistant.answer(args.question, k=args.k, sources=args.sources)
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        result = None
        live = sys.stdout.isatty()
        for item in assistant.stream(args.question, k=args.k, sources=args.sources):
            if isinstance(item, Answer):
                result = item
            elif isinstance(item, Evidence) and live:  # shown at once, while the model is still reading it
                print("Evidence (not yet the answer):")
                for c in item.citations:
                    print(f"  [{c.n}] {c.source}: \u201c{c.quote}\u201d")
                print("Draft: ", end="", flush=True)
            elif isinstance(item, str) and live:
                print(item, end="", flush=True)
        if live:
            print("\n" + "-" * 40)
        print(result.text)
        print(render(result))
    log.info("answered by %s: %s", result.backend, ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items()))
    return 0


def cmd_status(args) -> int:
    from .status import gather, render

    status = gather(**_settings(args))
    print(json.dumps(status, indent=2, ensure_ascii=False) if args.json else render(status))
    return 0


def cmd_ui(args) -> int:
    from .ui import launch

    # `docker stop` and service managers stop the page with SIGTERM, which ends Python at once with no exit handlers
    # (the download folder stays behind): close the server as Ctrl-C does instead
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    launch(host=args.host, port=args.port, **_settings(args))
    return 0


def cmd_eval(args) -> int:
    from .evaluation.runner import run_suite

    out = run_suite(
        suite=args.suite, questions=args.questions, data=args.data, limit=args.limit, out=args.out, judge=args.judge,
        feedback_file=args.feedback, user=args.user, **_settings(args),
    )
    print(f"report: {out / 'report.md'}")
    return 0


def cmd_passwd(args) -> int:
    import getpass

    from .ui.auth import hash_password, set_password

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.user}: ")
        if getpass.getpass("again: ") != password:
            raise ValueError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if args.file:
        set_password(args.file, args.user, password)
        print(f"{args.user} set in {args.file}; serve with ASSISTANT_AUTH={args.file}", file=sys.stderr)
    else:
        if not password:
            raise ValueError("the password is empty")
        print(f"{args.user}:{hash_password(password)}")
    return 0


def cmd_feedback_export(args) -> int:
    from .config import load_settings
    from .evaluation.feedback import export
    from .feedback import feedback_path, read

    source = args.feedback or feedback_path(load_settings().home)
    rows = [r for r in read(source, args.user) if args.rating in (None, r.rating)]
    if not rows:
        raise FileNotFoundError(f"no rated answers in {source}" + (f" from user {args.user!r}" if args.user else ""))
    text = export(rows)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"{len(rows)} rated questions written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="Offline document Q&A with verified citations.")
    _verbose(parser, default=False)
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="index files and folders (default: seeds/), incrementally")
    ingest.add_argument("paths", nargs="*", type=Path)
    ingest.add_argument("--follow-symlinks", action="store_true",
                        help="also index what links lead to outside the folders given (skipped by default)")
    _common(ingest)
    ingest.set_defaults(func=cmd_ingest)

    ask = sub.add_parser("ask", help="answer one question with citations")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("-k", type=int, default=None, help="passages to retrieve")
    ask.add_argument("--source", dest="sources", action="append", metavar="PATTERN",
                     help="ask within the documents this glob matches (source path or file name); repeatable")
    _common(ask)
    ask.set_defaults(func=cmd_ask)

    status = sub.add_parser("status", help="show the settings, index, models and servers the assistant will use")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    _common(status)
    status.set_defaults(func=cmd_status)

    ui = sub.add_parser("ui", help="open the chat page")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=7860)
    _common(ui)
    ui.set_defaults(func=cmd_ui)

    ev = sub.add_parser("eval", help="run an evaluation suite and write metrics.json + report.md")
    ev.add_argument("--suite", choices=["seed", "scifact", "squad2", "injection", "feedback"], default="seed",
                    help="feedback: ask every rated answer again and report which changed, thumbs-down first")
    ev.add_argument("--questions", type=Path, help="your own question file (seed suite format)")
    ev.add_argument("--data", type=Path,
                    help="benchmark data folder (default: ../shared/bench/<suite>; injection: eval/injection)")
    ev.add_argument("--limit", type=int, help="at most this many questions")
    ev.add_argument("--out", type=Path, help="report folder (default: eval/reports/<suite>)")
    ev.add_argument("--judge", metavar="SPEC",
                    help="optional LLM (provider:model) that judges whether each cited quote supports its sentence")
    ev.add_argument("--feedback", type=Path, metavar="FILE",
                    help="feedback suite: the ratings file (default: $ASSISTANT_HOME/feedback.jsonl)")
    ev.add_argument("--user", help="feedback suite: only this user's ratings")
    _common(ev)
    ev.set_defaults(func=cmd_eval)

    pw = sub.add_parser("passwd", help="hash a page login's password (for an ASSISTANT_AUTH file)")
    pw.add_argument("user")
    pw.add_argument("--file", type=Path, help="add or replace the user's line in this logins file")
    pw.set_defaults(func=cmd_passwd)

    fb = sub.add_parser("feedback", help="work with the ratings given on the page")
    fb_sub = fb.add_subparsers(dest="action", required=True)
    export = fb_sub.add_parser("export", help="write rated questions in eval/questions.yaml format (gold to fill in)")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument("--feedback", type=Path, metavar="FILE",
                        help="the ratings file (default: $ASSISTANT_HOME/feedback.jsonl)")
    export.add_argument("--user", help="only this user's ratings")
    export.add_argument("--rating", choices=["up", "down"], help="only thumbs-up or only thumbs-down")
    export.set_defaults(func=cmd_feedback_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_output(args.verbose)
    from .api import QuestionError
    from .store import IndexBusy

    try:
        return args.func(args)
    except (QuestionError, IndexBusy, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
