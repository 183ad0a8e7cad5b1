"""End to end: `alignctl lsp` in a subprocess, driven over stdio by pytest-lsp's client, on
copies of the bundled examples. Every request has a timeout, so a hung server fails the test."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

try:
    import pytest_lsp
except ImportError:     # `make test` installs the lsp extra; CI must not skip silently
    if os.environ.get("CI"):
        raise
    pytest.skip("needs the lsp extra and pytest-lsp (make test installs them)",
                allow_module_level=True)

from lsprotocol import types as T  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

from .conftest import ROOT  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")
SAAS = "when: 'industry in [\"saas\","
TIMEOUT = 60.0          # generous: the machine is shared; a hang still ends the test


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(
    server_command=[sys.executable, "-m", "alignctl", "lsp"]))
async def client(lsp_client: LanguageClient):
    await ask(lsp_client.initialize_session(T.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"))))
    yield
    await ask(lsp_client.shutdown_session())


async def ask(awaitable):
    return await asyncio.wait_for(awaitable, TIMEOUT)


async def diagnostics(client: LanguageClient, uri: str, until=lambda ds: True):
    """The diagnostics published for `uri` once `until(them)` holds (polling, with a deadline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while True:
        found = client.diagnostics.get(uri)
        if found is not None and until(found):
            return found
        if loop.time() > deadline:
            raise AssertionError(f"no matching diagnostics for {uri}: {found}")
        await asyncio.sleep(0.05)


def copy_example(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, dest)
    return dest


def open_file(client: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = from_fs_path(str(path))
    client.text_document_did_open(T.DidOpenTextDocumentParams(T.TextDocumentItem(
        uri=uri, language_id="yaml", version=1,
        text=path.read_text(encoding="utf-8") if text is None else text)))
    return uri


def pos(text: str, needle: str, nth: int = 0, offset: int = 0, *,
        comments: bool = False) -> T.Position:
    """The position `offset` characters into the `nth` occurrence of `needle` in `text`,
    skipping comment lines unless `comments`."""
    at, seen = -1, -1
    while seen < nth:
        at = text.index(needle, at + 1)
        start = text.rfind("\n", 0, at) + 1
        seen += comments or not text[start:at].lstrip().startswith("#")
    at += offset
    line = text.count("\n", 0, at)
    return T.Position(line=line, character=at - (text.rfind("\n", 0, at) + 1))


def line_text(text: str, rng: T.Range) -> str:
    assert rng.start.line == rng.end.line
    return text.split("\n")[rng.start.line][rng.start.character:rng.end.character]


def full_change(uri: str, version: int, text: str) -> T.DidChangeTextDocumentParams:
    return T.DidChangeTextDocumentParams(
        text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[T.TextDocumentContentChangeWholeDocument(text=text)])


# --- diagnostics ---------------------------------------------------------------------------------

async def test_clean_example_publishes_no_errors(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    uri = open_file(client, policy)
    found = await diagnostics(client, uri)
    assert [d for d in found if d.severity == T.DiagnosticSeverity.Error] == []


async def test_diagnostic_inside_an_expression_has_the_exact_range(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text().replace(SAAS, SAAS.replace("saas", "sass"))
    uri = open_file(client, policy, text)
    found = await diagnostics(client, uri, lambda ds: any(d.code == "ALN202" for d in ds))
    d = next(d for d in found if d.code == "ALN202")
    assert line_text(text, d.range) == '"sass"'
    assert d.range.start == pos(text, '"sass"')
    assert d.severity == T.DiagnosticSeverity.Error and d.source == "alignctl"
    assert "did you mean `saas`?" in d.message
    assert d.code_description is not None
    assert d.code_description.href.endswith("checks.md#aln202")


async def test_diagnostics_follow_changes_and_saves(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text()
    uri = open_file(client, policy)
    await diagnostics(client, uri, lambda ds: not any(d.code == "ALN101" for d in ds))
    broken = text.replace("    owner: sdr\n", "    owner: sdrr\n", 1)
    client.text_document_did_change(full_change(uri, 2, broken))
    found = await diagnostics(client, uri, lambda ds: any(d.code == "ALN101" for d in ds))
    d = next(d for d in found if d.code == "ALN101")
    assert line_text(broken, d.range) == "sdrr"
    # an incremental edit back to `sdr` (delete one character) clears it
    at = pos(broken, "sdrr", offset=3)
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=3),
        content_changes=[T.TextDocumentContentChangePartial(
            range=T.Range(start=at, end=T.Position(at.line, at.character + 1)), text="")]))
    await diagnostics(client, uri, lambda ds: not any(d.code == "ALN101" for d in ds))
    # save with a broken file on disk and the buffer closed: the disk is what counts
    policy.write_text(broken)
    client.text_document_did_save(T.DidSaveTextDocumentParams(
        text_document=T.TextDocumentIdentifier(uri=uri)))
    client.text_document_did_close(T.DidCloseTextDocumentParams(
        text_document=T.TextDocumentIdentifier(uri=uri)))
    await diagnostics(client, uri, lambda ds: any(d.code == "ALN101" for d in ds))


async def test_related_locations(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text().replace(
        "  employees:\n", "  email:\n    type: email\n    owner: marketing\n  employees:\n", 1)
    uri = open_file(client, policy, text)
    found = await diagnostics(client, uri, lambda ds: any(d.related_information for d in ds))
    d = next(d for d in found if d.related_information)
    rel = d.related_information[0]
    assert rel.location.uri == uri
    assert rel.location.range.start.line == pos(text, "  email:").line
    assert d.range.start.line == pos(text, "  email:", nth=1).line


async def test_diagnostics_in_an_included_file(client, tmp_path):
    folder = copy_example(tmp_path, "northwind-smb")
    glossary = folder / "glossary.yaml"
    text = glossary.read_text().replace("[[customer]].", "[[custommer]].", 1)
    g_uri = open_file(client, glossary, text)
    found = await diagnostics(client, g_uri, lambda ds: len(ds) > 0)
    d = next(d for d in found if "custommer" in d.message)
    assert line_text(text, d.range) == "[[custommer]]"
    root_uri = from_fs_path(str(folder / "alignment.yaml"))
    root = await diagnostics(client, root_uri)
    assert not any("custommer" in x.message for x in root)


# --- hover ---------------------------------------------------------------------------------------

async def hover_at(client, uri, position) -> str:
    h = await ask(client.text_document_hover_async(T.HoverParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=position)))
    assert h is not None
    return h.contents.value


async def test_hover(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text()
    uri = open_file(client, policy)
    field = await hover_at(client, uri, pos(text, "industry in [", offset=2))
    assert "**field** `industry`" in field and "enum" in field and "owner: `marketing`" in field
    assert "source: enrichment" in field and "`saas` (Software and SaaS)" in field
    term = await hover_at(client, uri, pos(text, "[[icp]] lead", offset=3))
    assert "**term** `icp` — Ideal customer profile" in term
    assert "Approved by `marketing` (marketing), `sdr` (sales), `ae` (sales)" in term
    stage = await hover_at(client, uri, pos(text, "- id: mql", offset=7))
    assert "**stage** `mql`" in stage and "entry:" in stage
    assert "expected per week: " in stage and "100" in stage
    rule = await hover_at(client, uri, pos(text, "id: pricing_page", offset=5))
    assert "**rule** `pricing_page` of model `engagement`" in rule
    assert "+10 points" in rule and "scores at most 100" in rule
    value = await hover_at(client, uri, pos(text, 'form == "free_trial"', offset=12))
    assert value.startswith("**value** `free_trial` of `form_submit.form`")
    saas = await hover_at(client, uri, pos(text, '["saas", "fintech", "ecommerce"]', offset=2))
    assert saas.startswith("**value** `saas` of `industry` — Software and SaaS")
    code = await hover_at(client, uri, pos(text, "check ALN803", offset=7, comments=True))
    assert code.startswith("**ALN803**") and "checks.md#aln803" in code


# --- definition and references -------------------------------------------------------------------

async def definition(client, uri, position) -> list[T.Location]:
    found = await ask(client.text_document_definition_async(T.DefinitionParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=position)))
    assert found, f"no definition at {position}"
    return found


async def test_definition_from_expressions_links_and_ids(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text()
    uri = open_file(client, policy)
    cases = [  # (where the cursor is, the definition's text, the line it is on)
        (pos(text, "employees >= 50 and", offset=3), "employees", pos(text, "  employees:")),
        (pos(text, "count(page_view within", offset=8), "page_view", pos(text, "  page_view:")),
        (pos(text, "on: form_submit", offset=6), "form_submit", pos(text, "  form_submit:")),
        (pos(text, "[[customer]]", offset=4), "customer", pos(text, "  customer:\n    name")),
        (pos(text, "  - from: mql", offset=10), "mql", pos(text, "- id: mql")),
        (pos(text, "    owner: sdr", offset=11), "sdr", pos(text, "  sdr:\n")),
        (pos(text, "and engagement >= 40", offset=6), "engagement", pos(text, "    engagement:\n")),
        (pos(text, 'form == "free_trial"', offset=1), "form", pos(text, "      form: {")),
    ]
    for cursor, name, where in cases:
        (loc,) = await definition(client, uri, cursor)
        assert loc.uri == uri
        assert line_text(text, loc.range) == name, name
        assert loc.range.start.line == where.line, name


async def test_definition_across_an_include(client, tmp_path):
    folder = copy_example(tmp_path, "northwind-smb")
    policy = folder / "alignment.yaml"
    text = policy.read_text()
    uri = open_file(client, policy)
    (loc,) = await definition(client, uri, pos(text, "[[icp]]", offset=3))
    assert loc.uri == from_fs_path(str(folder / "glossary.yaml"))
    glossary = (folder / "glossary.yaml").read_text()
    assert loc.range.start == pos(glossary, "icp:")


async def test_references(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text()
    uri = open_file(client, policy)
    refs = await ask(client.text_document_references_async(T.ReferenceParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=pos(text, "  page_view:", offset=3),
        context=T.ReferenceContext(include_declaration=False))))
    lines = sorted(r.range.start.line for r in refs)
    assert lines == sorted({pos(text, "on: page_view", nth=i).line for i in range(2)}
                           | {pos(text, "count(page_view").line})
    assert all(line_text(text, r.range) == "page_view" for r in refs)
    with_decl = await ask(client.text_document_references_async(T.ReferenceParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=pos(text, "on: page_view", offset=5),
        context=T.ReferenceContext(include_declaration=True))))
    assert len(with_decl) == len(refs) + 1


# --- rename --------------------------------------------------------------------------------------

async def test_rename_a_term_across_the_include(client, tmp_path):
    folder = copy_example(tmp_path, "northwind-smb")
    policy, glossary = folder / "alignment.yaml", folder / "glossary.yaml"
    uri = open_file(client, policy)
    text = policy.read_text()
    edit = await ask(client.text_document_rename_async(T.RenameParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=pos(text, "[[icp]]", offset=2),
        new_name="ideal_customer")))
    changes = edit.changes
    g_uri = from_fs_path(str(glossary))
    assert set(changes) == {uri, g_uri}
    for file, edits in ((policy, changes[uri]), (glossary, changes[g_uri])):
        body = file.read_text()
        assert all(line_text(body, e.range) == "icp" and e.new_text == "ideal_customer"
                   for e in edits)
    assert len(changes[g_uri]) == pos_count(glossary.read_text(), ("icp:", "[[icp]]"))
    applied = apply(policy.read_text(), changes[uri])
    policy.write_text(applied)
    glossary.write_text(apply(glossary.read_text(), changes[g_uri]))
    from alignctl.api import check_policy

    assert not check_policy(policy).errors


async def test_rename_refuses_a_taken_name(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text()
    uri = open_file(client, policy)
    with pytest.raises(Exception, match="already taken"):
        await ask(client.text_document_rename_async(T.RenameParams(
            text_document=T.TextDocumentIdentifier(uri=uri),
            position=pos(text, "  employees:", offset=3), new_name="country")))


def pos_count(text: str, needles) -> int:
    return sum(text.count(n) for n in needles)


def apply(text: str, edits: list[T.TextEdit]) -> str:
    lines = text.split("\n")
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        line = lines[e.range.start.line]
        lines[e.range.start.line] = (line[:e.range.start.character] + e.new_text
                                     + line[e.range.end.character:])
    return "\n".join(lines)


# --- completion ----------------------------------------------------------------------------------

async def labels_at(client, uri, position) -> list[str]:
    found = await ask(client.text_document_completion_async(T.CompletionParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=position)))
    items = found.items if isinstance(found, T.CompletionList) else found
    return [i.label for i in items or []]


async def test_completion(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text()
    uri = open_file(client, policy)
    await diagnostics(client, uri)
    # names at the start of a condition: fields, functions, keywords
    names = await labels_at(client, uri, pos(text, "'employees >= 50", offset=1))
    assert {"employees", "industry", "count", "has", "days_since", "not"} <= set(names)
    # after a complete operand: the operators
    ops = await labels_at(client, uri, pos(text, "employees >= 50 and", offset=16))
    assert {"and", "or"} <= set(ops) and "employees" not in ops
    # enum values of the compared field, inside the list
    values = await labels_at(client, uri, pos(text, '"fintech", "ecommerce"', offset=1))
    assert {"saas", "fintech", "media", "other"} <= set(values)
    # events inside count(
    events = await labels_at(client, uri, pos(text, "count(page_view within", offset=6))
    assert {"page_view", "form_submit", "email_click"} <= set(events)
    # a property of the rule's event in `where`, and its values after ==
    props = await labels_at(client, uri, pos(text, "where: 'form == \"free_trial\"", offset=8))
    assert "form" in props and "employees" not in props
    free = await labels_at(client, uri, pos(text, 'form == "free_trial"', offset=9))
    assert {"demo_request", "free_trial", "newsletter"} <= set(free)
    # stage ids in handoffs, team ids as owners
    stages = await labels_at(client, uri, pos(text, "    to: sal\n", offset=8))
    assert stages[:3] == ["inquiry", "mql", "sal"]
    teams = await labels_at(client, uri, pos(text, "    owner: sdr\n", offset=11))
    assert set(teams) == {"marketing", "sdr", "ae"}
    terms = await labels_at(client, uri, pos(text, "[[icp]] lead", offset=2))
    assert {"icp", "lead", "mql", "customer"} <= set(terms)
    events = await labels_at(client, uri, pos(text, "on: webinar_attended", offset=4))
    assert {"page_view", "webinar_attended", "unsubscribe"} <= set(events)
    reasons = await labels_at(client, uri, pos(text, "reject_reasons: [bad_fit", offset=17))
    assert {"bad_fit", "not_ready", "lost_deal"} <= set(reasons)
    dates = await labels_at(client, uri, pos(text, "before: contract_renewal_date", offset=8))
    assert set(dates) == {"discovery_call_date", "contract_renewal_date", "first_touch_at"}


async def test_completion_while_typing_a_new_condition(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text()
    uri = open_file(client, policy)
    edited = text.replace("entry: contract_signed", "entry: 'contract_signed and industry == \"", 1)
    client.text_document_did_change(full_change(uri, 2, edited))
    values = await labels_at(client, uri, pos(edited, 'industry == "', offset=13))
    assert "healthcare" in values


# --- quick fixes ---------------------------------------------------------------------------------

async def test_quick_fix_from_did_you_mean(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text().replace(SAAS, SAAS.replace("saas", "sass"))
    uri = open_file(client, policy, text)
    found = await diagnostics(client, uri, lambda ds: any(d.code == "ALN202" for d in ds))
    d = next(d for d in found if d.code == "ALN202")
    actions = await ask(client.text_document_code_action_async(T.CodeActionParams(
        text_document=T.TextDocumentIdentifier(uri=uri), range=d.range,
        context=T.CodeActionContext(diagnostics=[d]))))
    (action,) = actions
    assert action.kind == T.CodeActionKind.QuickFix and "saas" in action.title
    (e,) = action.edit.changes[uri]
    assert line_text(text, e.range) == "sass" and e.new_text == "saas"
    fixed = apply(text, [e])
    client.text_document_did_change(full_change(uri, 2, fixed))
    await diagnostics(client, uri, lambda ds: not any(d.code == "ALN202" for d in ds))


# --- the rest ------------------------------------------------------------------------------------

async def test_hover_model_and_team(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text()
    uri = open_file(client, policy)
    model = await hover_at(client, uri, pos(text, "and engagement >= 40", offset=6))
    assert "**model** `engagement`" in model and "scores from" in model and "cap: 100" in model
    team = await hover_at(client, uri, pos(text, "  sdr:\n", offset=3))
    assert "**team** `sdr`" in team and "6 reps" in team and "120 leads per week" in team
    assert "owns stages `sal`" in team


async def test_document_symbols(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    uri = open_file(client, policy)
    symbols = await ask(client.text_document_document_symbol_async(T.DocumentSymbolParams(
        text_document=T.TextDocumentIdentifier(uri=uri))))
    by_kind = {(s.name, s.kind) for s in symbols}
    assert {("industry", T.SymbolKind.Field), ("page_view", T.SymbolKind.Event),
            ("mql", T.SymbolKind.Class), ("icp", T.SymbolKind.String),
            ("engagement", T.SymbolKind.Namespace), ("pricing_page", T.SymbolKind.Function),
            ("sdr", T.SymbolKind.Module)} <= by_kind


async def test_prepare_rename_explains_what_cannot_be_renamed(client, tmp_path):
    policy = copy_example(tmp_path, "acme-saas") / "alignment.yaml"
    text = policy.read_text()
    uri = open_file(client, policy)
    ok = await ask(client.text_document_prepare_rename_async(T.PrepareRenameParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=pos(text, "[[icp]]", offset=3))))
    assert ok.placeholder == "icp" and line_text(text, ok.range) == "icp"
    with pytest.raises(Exception, match="nothing to rename here"):
        await ask(client.text_document_prepare_rename_async(T.PrepareRenameParams(
            text_document=T.TextDocumentIdentifier(uri=uri),
            position=pos(text, "name: Acme Analytics", offset=8))))


async def test_other_yaml_files_are_left_alone(client, tmp_path):
    other = tmp_path / "workflow.yaml"
    other.write_text("on: push\njobs: {build: {runs-on: ubuntu-latest}}\n")
    uri = open_file(client, other)
    assert await ask(client.text_document_hover_async(T.HoverParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=T.Position(0, 1)))) is None
    # a policy opened afterwards still gets its diagnostics: the server did not stall
    policy = copy_example(tmp_path, "northwind-smb") / "alignment.yaml"
    await diagnostics(client, open_file(client, policy))
    assert uri not in client.diagnostics


async def test_a_file_open_before_it_is_included(client, tmp_path):
    folder = copy_example(tmp_path, "northwind-smb")
    extra = folder / "partners.yaml"
    extra.write_text("terms:\n  partner_lead:\n    name: Partner lead\n"
                     "    definition: A [[lead]] a partner sent us.\n"
                     "    approved_by: [marketing, sales]\n")
    x_uri = open_file(client, extra)
    at = pos(extra.read_text(), "[[lead]]", offset=3)
    assert await ask(client.text_document_hover_async(T.HoverParams(
        text_document=T.TextDocumentIdentifier(uri=x_uri), position=at))) is None
    policy = folder / "alignment.yaml"
    text = policy.read_text()
    uri = open_file(client, policy)
    client.text_document_did_change(full_change(
        uri, 2, text.replace("include: [glossary.yaml]", "include: [glossary.yaml, partners.yaml]")))
    await diagnostics(client, x_uri)
    assert "**term** `lead`" in await hover_at(client, x_uri, at)


async def test_quick_fix_in_an_included_file(client, tmp_path):
    folder = copy_example(tmp_path, "northwind-smb")
    glossary = folder / "glossary.yaml"
    text = glossary.read_text().replace("approved_by: [marketing, sales]",
                                        "approved_by: [marketing, saless]", 1)
    uri = open_file(client, glossary, text)
    found = await diagnostics(client, uri, lambda ds: any(d.code == "ALN101" for d in ds))
    d = next(d for d in found if d.code == "ALN101")
    actions = await ask(client.text_document_code_action_async(T.CodeActionParams(
        text_document=T.TextDocumentIdentifier(uri=uri), range=d.range,
        context=T.CodeActionContext(diagnostics=[d]))))
    (action,) = actions
    (e,) = action.edit.changes[uri]
    assert line_text(text, e.range) == "saless" and e.new_text == "sales"
