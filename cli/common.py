"""Helpers every `agora` command shares: options, the error boundary and output rendering.

The error boundary (STYLE section 10) is the only place an `AgoraError` is caught: it
becomes one line on stderr, ``error: <reason>: <message>``, and exit code 1. Bad input that
surfaces as `OSError` or `ValueError` (an unreadable file, a malformed number) is reported the
same way. Usage errors (unknown option, bad choice) are also one line and exit 2:
`OneLineErrorsGroup` is the top-level group class that renders them. No path prints a
traceback unless AGORA_DEBUG=1. A warning that matters only when a command succeeds (the
`test` keyring is unencrypted) is deferred with `warn_on_success`, so a failure stays one line.

Commands that share options declare only their own and a first parameter for a context
object; `command_with` appends the shared options (`shared_options`) to the signature typer
reads and builds the context from their values.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import functools
import inspect
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import pydantic
import typer
from typer.core import TyperGroup

from cli.words import AMOUNT_FIELDS, validation_line
from commerce.errors import AgoraError

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

P = ParamSpec("P")
R = TypeVar("R")


class OutputFormat(StrEnum):
    """How a command prints its result."""

    text = "text"
    json = "json"


OutputOption = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="Print text for people or json for scripts."),
]

def subcommands(name: str, help_text: str) -> typer.Typer:
    """A command group: plain help (no rich markup, which swallowed `[default: ...]`),
    suggestions for unknown commands, help when called bare."""
    return typer.Typer(name=name, help=help_text, no_args_is_help=True, cls=SuggestingGroup,
                       rich_markup_mode=None)


HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Node home directory [default: $AGORA_HOME or ~/.agora].",
        show_default=False,
    ),
]


def resolve_home(home: Path | None) -> Path:
    """`home` if given, else $AGORA_HOME, else ~/.agora."""
    if home is not None:
        return home.expanduser()
    env = os.environ.get("AGORA_HOME")
    return Path(env).expanduser() if env else Path.home() / ".agora"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(reason: str, message: str, *, code: int = EXIT_FAILURE) -> NoReturn:
    """Print ``error: <reason>: <message>`` on one stderr line and exit with `code`."""
    typer.echo(f"error: {reason}: {_one_line(message)}", err=True)
    raise typer.Exit(code=code)


def warn(message: str) -> None:
    """Print one warning line on stderr (stdout stays clean for --output json)."""
    typer.echo(_one_line(message), err=True)


# The warnings the running command prints if it succeeds (None outside an error boundary).
_ON_SUCCESS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "warnings_on_success", default=None)


def warn_on_success(message: str) -> None:
    """Print `message` once when the running command succeeds (at once outside a command):
    a failed command stays one `error:` line."""
    pending = _ON_SUCCESS.get()
    if pending is None:
        warn(message)
    elif message not in pending:
        pending.append(message)


def quiet_broken_pipe() -> NoReturn:
    """The reader of stdout went away (`agora query status | head -5`): exit 0 silently.

    Stdout is pointed at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    sys.exit(0)


@contextlib.contextmanager
def error_boundary() -> Iterator[None]:
    """Turn AgoraError, OSError and ValueError raised inside into `fail(...)`; a broken
    pipe on stdout ends the command quietly; on success, the deferred warnings are printed."""
    pending: list[str] = []
    token = _ON_SUCCESS.set(pending)
    try:
        yield
        for message in pending:
            warn(message)
    except AgoraError as exc:
        fail(exc.reason, exc.message)
    except BrokenPipeError:
        quiet_broken_pipe()
    except pydantic.ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors(include_url=False) if e.get("loc")}
        fail("bad_amount" if fields & AMOUNT_FIELDS else "field_invalid",
             validation_line(exc))
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        fail("io_error", f"{exc.strerror or exc}{where}")
    except ValueError as exc:
        fail("invalid_input", str(exc) or type(exc).__name__)
    finally:
        _ON_SUCCESS.reset(token)


def run_command(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call `function` inside the error boundary and return its result."""
    with error_boundary():
        return function(*args, **kwargs)
    raise AssertionError("unreachable: the boundary either returns or exits")


def handle_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a typer command so its body runs inside the error boundary; typer still
    sees the original signature."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return run_command(function, *args, **kwargs)

    return wrapper


REQUIRED = inspect.Parameter.empty


def shared_options(*options: tuple[str, Any, Any]) -> list[inspect.Parameter]:
    """Keyword-only parameters from (name, Annotated option type, default or REQUIRED)."""
    return [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                              annotation=kind) for name, kind, default in options]


OUTPUT_OPTIONS = shared_options(("output", OutputOption, OutputFormat.text))


def command_with(run: Callable[..., None], shared: Sequence[inspect.Parameter],
                 make_context: Callable[..., Any],
                 like: Callable[..., Any] | None = None) -> Callable[..., None]:
    """A typer command that calls `run(context, **own options)` inside the error boundary.

    The own arguments and options, the help text and the name are those of `like` (default
    `run`) after its first parameter; `shared` follows them, and their values build the
    context with `make_context(**values)`."""
    model = like or run
    own = list(inspect.signature(model, eval_str=True).parameters.values())[1:]
    names = [parameter.name for parameter in shared]
    assert not {p.name for p in own} & set(names), f"{model.__name__} redefines a shared option"

    def command(**values: Any) -> None:
        context_values = {name: values.pop(name) for name in names}
        with error_boundary():
            run(make_context(**context_values), **values)

    parameters = [*own, *shared]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = model.__doc__
    command.__name__ = model.__name__
    return command


def print_json(value: Any) -> None:
    """Print `value` as indented JSON on stdout (bytes as hex, paths as text)."""
    typer.echo(json.dumps(value, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Path | Enum):
        return str(value.value if isinstance(value, Enum) else value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def print_fields(fields: Mapping[str, Any]) -> None:
    """Print `label  value` lines with the labels aligned (a `show` view)."""
    width = max((len(label) for label in fields), default=0)
    for label, value in fields.items():
        typer.echo(f"{label.ljust(width)}  {_cell(value)}")


def render_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """A plain text table of `rows` with `columns` as (key, HEADER) pairs."""
    cells = [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    headers = [header for _, header in columns]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row_cells in cells:
        line = "  ".join(c.ljust(w) for c, w in zip(row_cells, widths, strict=True))
        lines.append(line.rstrip())
    return "\n".join(lines)


def print_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    empty: str = "(none)",
) -> None:
    """Print `render_table(rows, columns)`, or `empty` when there are no rows."""
    typer.echo(render_table(rows, columns) if rows else empty)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, bytes):
        return value.hex()
    return _one_line(str(value))


def emit(output: OutputFormat, value: Any, text: Callable[[], None]) -> None:
    """Print `value` as JSON when `output` is json, else call `text()` to print it."""
    if output is OutputFormat.json:
        print_json(value)
    else:
        text()


# Words people type for a command that has another name here.
SYNONYMS = {"buy": "purchase", "send": "transfer", "pay": "transfer", "ship": "order-ship",
            "confirm": "order-confirm", "cancel": "order-cancel", "refund": "order-refund",
            "dispute": "order-dispute", "claim": "reward-claim", "balance": "account",
            "vote": "poll-vote", "list": "listing-create", "reply": "review-reply"}


def suggestion(name: str, choices: Sequence[str]) -> str | None:
    """The command a mistyped or synonymous `name` most likely meant, if any."""
    if SYNONYMS.get(name) in choices:
        return SYNONYMS[name]
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return close[0]
    prefixed = [c for c in choices if c.endswith("-" + name) or c.startswith(name + "-")]
    return prefixed[0] if len(prefixed) == 1 else None


class SuggestingGroup(TyperGroup):
    """A command group whose "no such command" names the command meant (`tx buy` ->
    `purchase`)."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Typer's lookup, with our suggestion when the name is unknown."""
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as exc:
            name = args[0] if args else ""
            visible = [n for n, c in self.commands.items() if not c.hidden]
            hint = suggestion(name.lower(), visible) if name else None
            if hint is not None and name not in self.commands and hasattr(exc, "message"):
                exc.message = f"no command {name!r} here; did you mean {hint!r}?"
            raise


USAGE_WORDS = (
    (re.compile(r"Input should be greater than or equal to"), "must be at least"),
    (re.compile(r"Input should be less than or equal to"), "must be at most"),
    (re.compile(r"Input should be a valid integer.*$"), "must be a whole number"),
    (re.compile(r"Input should be"), "must be"),
    (re.compile(r"Value error, "), ""),
    (re.compile(r"Invalid value for '([a-z_]+)'"), lambda m: f"Invalid value for "
     f"'{m.group(1).upper()}'"),
)


def usage_words(message: str) -> str:
    """A usage message in the CLI's words (no library phrasing, arguments in capitals)."""
    for pattern, replacement in USAGE_WORDS:
        message = pattern.sub(replacement, message)  # type: ignore[arg-type]
    return message


class OneLineErrorsGroup(SuggestingGroup):
    """The top-level group: usage errors become one line and exit 2; interrupts exit 130;
    an unexpected exception becomes one line (a traceback only with AGORA_DEBUG=1)."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; with `standalone_mode` (the default) always exits."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except typer.TyperException as exc:
            code = int(getattr(exc, "exit_code", EXIT_FAILURE))
            if type(exc).__name__ == "NoArgsIsHelpError":
                typer.echo(exc.format_message(), err=True)
                sys.exit(code)
            message = usage_words(exc.format_message())
            typer.echo(f"error: usage: {_one_line(message)}", err=True)
            sys.exit(code)
        except BrokenPipeError:
            quiet_broken_pipe()
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(EXIT_FAILURE)
        except Exception as exc:
            if os.environ.get("AGORA_DEBUG") == "1":
                raise
            message = _one_line(str(exc)) or type(exc).__name__
            typer.echo(f"error: internal: {type(exc).__name__}: {message}", err=True)
            sys.exit(EXIT_FAILURE)
        sys.exit(result if isinstance(result, int) else 0)
