"""The language server: pygls glue between the editor and `analysis`, `hover`, `complete` and
`edits`. The only module that imports pygls and lsprotocol (the `lsp` extra).

Diagnostics are computed on a worker thread from a snapshot of the open buffers; while one run
is in progress further edits only mark the policy dirty, so a burst of keystrokes costs one more
run, not one per keystroke. Requests (hover, definition, ...) re-run the pipeline on the spot
when the stored analysis is older than the buffers, so they never answer from stale positions.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lsprotocol import types as T
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from alignctl.policy.codes import Severity
from alignctl.policy.diagnostics import Diagnostic, Span

from . import complete as completion
from .analysis import Analysis, absolute, analyze, candidate_roots, is_root_text
from .edits import RenameError, quick_fix, rename_edits, renameable
from .hover import code_hover, hover_symbol, hover_word

log = logging.getLogger("alignctl.lsp")
CODE_WORD = re.compile(r"ALN\d{3}")
IDENT = re.compile(r"[A-Za-z0-9_]+")
KINDS = {
    "field": T.CompletionItemKind.Field, "model": T.CompletionItemKind.Variable,
    "builtin": T.CompletionItemKind.Variable, "event": T.CompletionItemKind.Event,
    "property": T.CompletionItemKind.Property, "value": T.CompletionItemKind.EnumMember,
    "function": T.CompletionItemKind.Function, "keyword": T.CompletionItemKind.Keyword,
    "team": T.CompletionItemKind.Module, "stage": T.CompletionItemKind.Class,
    "term": T.CompletionItemKind.Reference, "reason": T.CompletionItemKind.Constant,
}
SYMBOL_KINDS = {
    "team": T.SymbolKind.Module, "field": T.SymbolKind.Field, "event": T.SymbolKind.Event,
    "term": T.SymbolKind.String, "stage": T.SymbolKind.Class, "model": T.SymbolKind.Namespace,
    "rule": T.SymbolKind.Function, "reason": T.SymbolKind.Constant,
}


class RequestFailed(JsonRpcException):
    CODE = -32803    # LSP RequestFailed: the editor shows the message


def default_checks_url() -> str | None:
    """The check catalogue next to the package (a source checkout or editable install)."""
    env = os.environ.get("ALIGNCTL_CHECKS_URL")
    if env:
        return env
    local = Path(__file__).resolve().parent.parent.parent / "docs" / "checks.md"
    return local.as_uri() if local.is_file() else None


class PolicyServer(LanguageServer):
    def __init__(self) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            ver = version("alignctl")
        except PackageNotFoundError:
            ver = "0"
        super().__init__("alignctl", ver, text_document_sync_kind=T.TextDocumentSyncKind.Incremental)
        self.analyses: dict[str, Analysis] = {}     # root -> newest analysis
        self.last_good: dict[str, Analysis] = {}    # root -> newest one whose YAML loaded
        self.root_of: dict[str, str] = {}           # file -> root
        self.orphans: set[str] = set()              # YAML files no nearby policy includes
        self.published: dict[str, set[str]] = {}    # root -> files given diagnostics
        self.dirty: set[str] = set()
        self.busy = False
        self.generation = 0                         # bumped by every edit, save or disk change
        self.checks_url = default_checks_url()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alignctl-check")
        self.lock = threading.Lock()

    # --- files and roots -------------------------------------------------------------------
    def open_texts(self) -> dict[str, str]:
        texts = {}
        for uri, doc in list(self.workspace.text_documents.items()):
            path = to_fs_path(uri)
            if path:
                texts[os.path.normpath(path)] = doc.source
        return texts

    def stamp(self) -> tuple:
        return (self.generation,)

    def folders(self) -> list[str]:
        out = []
        for f in self.workspace.folders.values():
            p = to_fs_path(f.uri)
            if p:
                out.append(p)
        if self.workspace.root_path:
            out.append(self.workspace.root_path)
        return out

    def root_for(self, path: str) -> str | None:
        """The root policy `path` belongs to (itself, or one that includes it), or None."""
        path = os.path.normpath(path)
        if path in self.root_of:
            return self.root_of[path]
        text = self.open_texts().get(path)
        if text is None:
            try:
                text = Path(path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = None
        if is_root_text(path, text):
            self.root_of[path] = path
            return path
        if path in self.orphans:    # not searched again on every keystroke in, say, a CI file
            return None
        for root in candidate_roots(path, self.folders()):
            a = self.analysis(root)
            if path in a.names:
                return root
        self.orphans.add(path)
        return None

    def remember(self, a: Analysis) -> None:
        with self.lock:
            good = self.last_good.get(a.root)
            if a.index is not None and (good is None or good.stamp <= a.stamp):
                self.last_good[a.root] = a
            old = self.analyses.get(a.root)
            if old is not None and old.stamp > a.stamp:
                return
            self.analyses[a.root] = a
            for f in a.files():
                self.root_of.setdefault(f, a.root)
                self.orphans.discard(f)

    def vocabulary(self, root: str) -> Analysis:
        """The newest analysis whose YAML loaded (completion's names); when no buffer state
        has loaded yet, the files as saved on disk."""
        good = self.last_good.get(root)
        if good is None:
            good = analyze(root, {}, ())
            if good.index is not None:
                with self.lock:
                    self.last_good.setdefault(root, good)
        return good

    def analysis(self, root: str) -> Analysis:
        """The analysis of `root` for the buffers as they are now (computed if stale)."""
        stamp = self.stamp()
        a = self.analyses.get(root)
        if a is None or a.stamp != stamp:
            a = analyze(root, self.open_texts(), stamp)
            self.remember(a)
        return a

    def for_uri(self, uri: str) -> tuple[Analysis, str, str] | None:
        path = to_fs_path(uri)
        root = self.root_for(path) if path else None
        if root is None:
            return None
        a = self.analysis(root)
        name = a.name_of(path)
        return (a, name, path) if name else None

    # --- diagnostics -----------------------------------------------------------------------
    def changed(self, uri: str) -> None:
        self.generation += 1
        path = to_fs_path(uri)
        root = self.root_for(path) if path else None
        if root is None:
            return
        self.dirty.add(root)
        self.kick()

    def kick(self) -> None:
        if self.busy or not self.dirty:
            return
        root = self.dirty.pop()
        self.busy = True
        stamp, texts = self.stamp(), self.open_texts()
        loop = self.loop
        future = self.worker.submit(analyze, root, texts, stamp)
        future.add_done_callback(lambda f: loop.call_soon_threadsafe(self.finished, f))

    def finished(self, future) -> None:
        self.busy = False
        try:
            a = future.result()
            self.remember(a)
            self.publish(self.analyses.get(a.root, a))
        except Exception:  # noqa: BLE001 - keep serving; the log says what happened
            log.exception("analysis failed")
        self.kick()

    @property
    def loop(self):
        import asyncio

        return asyncio.get_running_loop()

    def publish(self, a: Analysis) -> None:
        files = set(a.files())
        for path in sorted(files | self.published.get(a.root, set())):
            name = a.name_of(path)
            diags = a.diagnostics_for(name) if name and path in files else []
            uri = from_fs_path(path)
            doc = self.workspace.text_documents.get(uri)
            self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(
                uri=uri, diagnostics=[self.lsp_diagnostic(a, d) for d in diags],
                version=doc.version if doc is not None else None))
        self.published[a.root] = files

    def lsp_diagnostic(self, a: Analysis, d: Diagnostic) -> T.Diagnostic:
        related = [T.DiagnosticRelatedInformation(
            location=T.Location(uri=from_fs_path(absolute(span.file)), range=self.range(a, span)),
            message=label) for label, span in d.related]
        notes = "".join(f"\nnote: {n}" for n in d.notes)
        helptext = f"\nhelp: {d.help}" if d.help else ""
        return T.Diagnostic(
            range=self.range(a, d.span), message=d.message + notes + helptext,
            severity=T.DiagnosticSeverity.Error if d.severity is Severity.ERROR
            else T.DiagnosticSeverity.Warning,
            code=d.code, source="alignctl",
            code_description=T.CodeDescription(href=f"{self.checks_url}#{d.code.lower()}")
            if self.checks_url else None,
            related_information=related or None)

    # --- positions -------------------------------------------------------------------------
    def lines_of(self, a: Analysis, name: str) -> list[str]:
        text = a.text(name)
        return text.split("\n") if text is not None else []

    def range(self, a: Analysis, span: Span) -> T.Range:
        lines = self.lines_of(a, span.file)
        codec = self.workspace.position_codec
        start = T.Position(max(span.line - 1, 0), max(span.column - 1, 0))
        end = T.Position(max(span.end_line - 1, 0), max(span.end_column - 1, 0))
        if not lines:
            return T.Range(start=start, end=end)
        return T.Range(start=codec.position_to_client_units(lines, start),
                       end=codec.position_to_client_units(lines, end))

    def location(self, a: Analysis, span: Span) -> T.Location:
        return T.Location(uri=from_fs_path(absolute(span.file)), range=self.range(a, span))

    def cursor(self, a: Analysis, name: str, pos: T.Position) -> tuple[int, int]:
        """A client position as a 0-based (line, character) in code points."""
        lines = self.lines_of(a, name)
        p = self.workspace.position_codec.position_from_client_units(
            lines, T.Position(pos.line, pos.character))
        return p.line, p.character


server = PolicyServer()


def _guard(fn):
    """Run a handler; an unexpected error goes to the log and the editor gets no answer."""
    def wrapper(ls: PolicyServer, params):
        try:
            return fn(ls, params)
        except JsonRpcException:
            raise
        except Exception:  # noqa: BLE001
            log.exception("%s failed", fn.__name__)
            ls.window_log_message(T.LogMessageParams(type=T.MessageType.Error,
                                                     message=f"alignctl: {fn.__name__} failed"))
            return None
    wrapper.__name__ = fn.__name__
    return wrapper


@server.feature(T.INITIALIZE)
def initialize(ls: PolicyServer, params: T.InitializeParams) -> None:
    opts = params.initialization_options
    if isinstance(opts, dict) and isinstance(opts.get("checksUrl"), str):
        ls.checks_url = opts["checksUrl"] or None


@server.feature(T.TEXT_DOCUMENT_DID_OPEN)
@_guard
def did_open(ls: PolicyServer, params: T.DidOpenTextDocumentParams) -> None:
    ls.changed(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
@_guard
def did_change(ls: PolicyServer, params: T.DidChangeTextDocumentParams) -> None:
    ls.changed(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_SAVE)
@_guard
def did_save(ls: PolicyServer, params: T.DidSaveTextDocumentParams) -> None:
    ls.orphans.clear()      # the saved file may be a policy that now includes one of them
    ls.changed(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
@_guard
def did_close(ls: PolicyServer, params: T.DidCloseTextDocumentParams) -> None:
    ls.changed(params.text_document.uri)   # back to the file on disk


@server.feature(T.WORKSPACE_DID_CHANGE_WATCHED_FILES)
@_guard
def watched(ls: PolicyServer, params: T.DidChangeWatchedFilesParams) -> None:
    ls.generation += 1
    ls.orphans.clear()
    for change in params.changes:
        path = os.path.normpath(to_fs_path(change.uri) or "")
        if path in ls.root_of:
            ls.dirty.add(ls.root_of[path])
    ls.kick()


@server.feature(T.TEXT_DOCUMENT_HOVER)
@_guard
def hover(ls: PolicyServer, params: T.HoverParams) -> T.Hover | None:
    found = ls.for_uri(params.text_document.uri)
    if found is None:
        return None
    a, name, _ = found
    line, col = ls.cursor(a, name, params.position)
    occ = a.index.at(name, line + 1, col + 1) if a.index else None
    text, span = None, None
    if occ is not None:
        text, span = hover_symbol(a, occ, ls.checks_url), occ.span
    else:
        word, span = _word_at(a, name, line, col)
        if word and CODE_WORD.fullmatch(word):
            text = code_hover(word, a, ls.checks_url)
        elif word:
            in_expr = a.index is not None and a.index.expr_at(name, line + 1, col + 1) is not None
            text = hover_word(word, in_expr)
    if not text:
        return None
    return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=text),
                   range=ls.range(a, span) if span else None)


def _word_at(a: Analysis, name: str, line: int, col: int) -> tuple[str | None, Span | None]:
    text = a.text(name)
    lines = text.split("\n") if text is not None else []
    if line >= len(lines):
        return None, None
    for m in IDENT.finditer(lines[line]):
        if m.start() <= col <= m.end():
            return m.group(), Span(name, line + 1, m.start() + 1, line + 1, m.end() + 1)
    return None, None


def _occ(ls: PolicyServer, params):
    found = ls.for_uri(params.text_document.uri)
    if found is None or found[0].index is None:
        return None, None
    a, name, _ = found
    line, col = ls.cursor(a, name, params.position)
    return a, a.index.at(name, line + 1, col + 1)


@server.feature(T.TEXT_DOCUMENT_DEFINITION)
@_guard
def definition(ls: PolicyServer, params: T.DefinitionParams) -> list[T.Location] | None:
    a, occ = _occ(ls, params)
    if occ is None:
        return None
    return [ls.location(a, o.span) for o in a.index.defs(occ.sym)] or None


@server.feature(T.TEXT_DOCUMENT_REFERENCES)
@_guard
def references(ls: PolicyServer, params: T.ReferenceParams) -> list[T.Location] | None:
    a, occ = _occ(ls, params)
    if occ is None:
        return None
    occs = a.index.by_sym.get(occ.sym, [])
    keep = [o for o in occs if params.context.include_declaration or not o.is_def]
    return [ls.location(a, o.span) for o in keep]


@server.feature(T.TEXT_DOCUMENT_PREPARE_RENAME)
@_guard
def prepare_rename(ls: PolicyServer, params: T.PrepareRenameParams):
    a, occ = _occ(ls, params)
    if a is None:
        return None
    try:
        sym = renameable(a, occ)
    except RenameError as exc:
        raise RequestFailed(str(exc)) from None
    return T.PrepareRenamePlaceholder(range=ls.range(a, occ.span), placeholder=sym.name)


@server.feature(T.TEXT_DOCUMENT_RENAME)
@_guard
def rename(ls: PolicyServer, params: T.RenameParams) -> T.WorkspaceEdit | None:
    a, occ = _occ(ls, params)
    if a is None:
        return None
    try:
        sym = renameable(a, occ)
        edits = rename_edits(a, sym, params.new_name)
    except RenameError as exc:
        raise RequestFailed(str(exc)) from None
    return T.WorkspaceEdit(changes={
        from_fs_path(absolute(file)): [T.TextEdit(range=ls.range(a, span), new_text=new)
                                       for span, new in items]
        for file, items in sorted(edits.items())})


@server.feature(T.TEXT_DOCUMENT_COMPLETION,
                T.CompletionOptions(trigger_characters=['"', "(", "[", " ", ","]))
@_guard
def complete(ls: PolicyServer, params: T.CompletionParams) -> T.CompletionList | None:
    found = ls.for_uri(params.text_document.uri)
    if found is None:
        return None
    a, name, _ = found
    good = ls.vocabulary(a.root)
    doc = ls.workspace.get_text_document(params.text_document.uri)
    lines = doc.source.split("\n")
    pos = ls.workspace.position_codec.position_from_client_units(
        lines, T.Position(params.position.line, params.position.character))
    fresh = a.text(name) == doc.source
    data = (good.doc.data if good.doc else None)
    items, word = completion.complete(a.index if fresh else None, data, name, lines, pos.line,
                                      pos.character, fresh)
    start = ls.workspace.position_codec.position_to_client_units(
        lines, T.Position(pos.line, max(pos.character - word, 0)))
    end = T.Position(params.position.line, params.position.character)
    snippets = _snippet_support(ls)
    return T.CompletionList(is_incomplete=False, items=[
        _item(it, T.Range(start=start, end=end), snippets) for it in items])


def _snippet_support(ls: PolicyServer) -> bool:
    caps = ls.client_capabilities.text_document
    item = caps.completion.completion_item if caps and caps.completion else None
    return bool(item and item.snippet_support)


def _item(it: completion.Item, rng: T.Range, snippets: bool) -> T.CompletionItem:
    text = it.insert or it.label
    fmt = None
    if it.snippet:
        if snippets:
            fmt = T.InsertTextFormat.Snippet
        else:
            text = text.replace("$1", "")
    return T.CompletionItem(label=it.label, kind=KINDS.get(it.kind), detail=it.detail or None,
                            sort_text=f"{it.sort}{it.label}", filter_text=it.label,
                            text_edit=T.TextEdit(range=rng, new_text=text),
                            insert_text_format=fmt)


@server.feature(T.TEXT_DOCUMENT_CODE_ACTION,
                T.CodeActionOptions(code_action_kinds=[T.CodeActionKind.QuickFix]))
@_guard
def code_action(ls: PolicyServer, params: T.CodeActionParams) -> list[T.CodeAction] | None:
    found = ls.for_uri(params.text_document.uri)
    if found is None:
        return None
    a, name, _ = found
    out = []
    for d in a.diagnostics_for(name):
        rng = ls.range(a, d.span)
        if not _overlaps(rng, params.range):
            continue
        fix = quick_fix(d, a.result.sources)
        if fix is None:
            continue
        title, span, new = fix
        client_diag = next((c for c in params.context.diagnostics
                            if c.code == d.code and c.range == rng), None)
        out.append(T.CodeAction(
            title=title, kind=T.CodeActionKind.QuickFix, is_preferred=True,
            diagnostics=[client_diag] if client_diag else [ls.lsp_diagnostic(a, d)],
            edit=T.WorkspaceEdit(changes={params.text_document.uri: [
                T.TextEdit(range=ls.range(a, span), new_text=new)]})))
    return out


def _overlaps(a: T.Range, b: T.Range) -> bool:
    def key(p: T.Position) -> tuple[int, int]:
        return p.line, p.character
    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


@server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@_guard
def document_symbols(ls: PolicyServer, params: T.DocumentSymbolParams):
    found = ls.for_uri(params.text_document.uri)
    if found is None or found[0].index is None:
        return None
    a, name, path = found
    out = []
    for o in a.index.occs:
        if o.is_def and o.span.file == name and o.sym.kind in SYMBOL_KINDS:
            out.append(T.SymbolInformation(
                name=o.sym.name, kind=SYMBOL_KINDS[o.sym.kind], location=ls.location(a, o.span),
                container_name=o.sym.parent or o.sym.kind))
    return out


def main(log_file: str | None = None) -> None:
    """Serve over stdin/stdout until the editor disconnects."""
    if log_file:
        logging.basicConfig(filename=log_file, level=logging.INFO,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server.start_io()
