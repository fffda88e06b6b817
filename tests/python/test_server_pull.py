"""`nmf server` and LSP 3.17 pull diagnostics, driven by a real LSP client (pytest-lsp, on
pygls), which checks what the server sends against the specification and the capabilities
the client announced: `textDocument/diagnostic` and `workspace/diagnostic` with result ids,
`workspace/diagnostic/refresh` when files change on disk, and the whole workspace reported
(`initializationOptions.workspaceDiagnostics`), pulled or published."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

# The installed script; NMF_BINARY points at a development build instead.
NMF = os.environ.get("NMF_BINARY") or shutil.which("nmf", path=str(Path(sys.executable).parent))

BASE = "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    pass\n"
USER = "from base import Base\n\nBase().forward(1)\n"
CALL = "import torch\n\nlayer = torch.nn.Linear(1, 1)\nlayer.forward(torch.ones(1))\n"


def workspace_with_findings(root: Path) -> None:
    """`user.py` calls the `forward` of `base.py`'s module class, `call.py` a layer's;
    `clean.py` calls nothing; `excluded/call.py` is excluded by the configuration."""
    (root / "pyproject.toml").write_text('[tool.nmf]\nextend-exclude = ["excluded"]\n')
    (root / "base.py").write_text(BASE)
    (root / "user.py").write_text(USER)
    (root / "call.py").write_text(CALL)
    (root / "clean.py").write_text("x = 1\n")
    (root / "excluded").mkdir()
    (root / "excluded" / "call.py").write_text(CALL)


async def start(lsp_client: LanguageClient, root: Path, capabilities: types.ClientCapabilities):
    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams):
        return None

    workspace_with_findings(root)
    lsp_client.initialized = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="workspace")],
            initialization_options={"workspaceDiagnostics": True},
        )
    )
    lsp_client.workspace_path = root


def pulling_capabilities() -> types.ClientCapabilities:
    """What Visual Studio Code announces, with pull diagnostics (LSP 3.17) and refresh, as
    its current releases do."""
    capabilities = client_capabilities("visual-studio-code")
    capabilities.text_document.diagnostic = types.DiagnosticClientCapabilities(
        dynamic_registration=True, related_document_support=False
    )
    capabilities.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
        refresh_support=True
    )
    return capabilities


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[NMF, "server"]))
async def pulling(lsp_client: LanguageClient, tmp_path_factory):
    await start(lsp_client, tmp_path_factory.mktemp("workspace"), pulling_capabilities())
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[NMF, "server"]))
async def pushed(lsp_client: LanguageClient, tmp_path_factory):
    # The capabilities pytest-lsp records for Visual Studio Code announce no pull support.
    capabilities = client_capabilities("visual-studio-code")
    assert capabilities.text_document.diagnostic is None
    await start(lsp_client, tmp_path_factory.mktemp("workspace"), capabilities)
    yield
    await lsp_client.shutdown_session()


async def until(condition, seconds: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "the server did not answer in time"
        await asyncio.sleep(0.01)


def named(client: LanguageClient, uri: str) -> str:
    return uri.removeprefix(client.workspace_path.as_uri() + "/")


def summary(client: LanguageClient, report: types.WorkspaceDiagnosticReport) -> list[str]:
    """Each file's report as a reviewer reads it: name, kind, version, codes."""
    lines = []
    for item in report.items:
        codes = [diagnostic.code for diagnostic in getattr(item, "items", [])]
        lines.append(f"{named(client, item.uri)} {item.kind} v{item.version} {codes}")
    return sorted(lines)


def held(report: types.WorkspaceDiagnosticReport) -> list[types.PreviousResultId]:
    return [types.PreviousResultId(uri=item.uri, value=item.result_id) for item in report.items]


@pytest.mark.asyncio
async def test_a_client_that_pulls_gets_the_workspace_and_unchanged_for_what_it_holds(pulling):
    client = pulling
    assert client.initialized.capabilities.diagnostic_provider == types.DiagnosticOptions(
        identifier="nmf", inter_file_dependencies=True, workspace_diagnostics=True
    )
    first = await client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams(previous_result_ids=[]))
    # Every file with findings, not the clean one, not the excluded one; not open: no version.
    assert summary(client, first) == [
        "call.py full vNone ['NMF001']",
        "user.py full vNone ['NMF001']",
    ]
    # Pulled again with the ids it holds: nothing changed, nothing is sent again.
    again = await client.workspace_diagnostic_async(
        types.WorkspaceDiagnosticParams(previous_result_ids=held(first))
    )
    assert summary(client, again) == ["call.py unchanged vNone []", "user.py unchanged vNone []"]

    # An open document is pulled alone, its unsaved text winning over the disk's.
    clean = (client.workspace_path / "clean.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=clean, language_id="python", version=3, text=CALL)
        )
    )
    document = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=clean))
    )
    assert document.kind == "full"
    [finding] = document.items
    assert (finding.code, finding.range.start) == ("NMF001", types.Position(line=3, character=0))
    unchanged = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=clean), previous_result_id=document.result_id
        )
    )
    assert (unchanged.kind, unchanged.result_id) == ("unchanged", document.result_id)
    # Nothing was ever pushed to a client that pulls.
    assert client.diagnostics == {}

    # `call.py` loses its call on disk: the client is asked to pull again, and told.
    (client.workspace_path / "call.py").write_text("x = 2\n")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=(client.workspace_path / "call.py").as_uri(),
                                     type=types.FileChangeType.Changed)]
        )
    )
    await until(lambda: client.diagnostic_refresh_count == 1)
    changed = await client.workspace_diagnostic_async(
        types.WorkspaceDiagnosticParams(previous_result_ids=held(first))
    )
    assert summary(client, changed) == [
        "call.py full vNone []",
        "clean.py full v3 ['NMF001']",
        "user.py unchanged vNone []",
    ]
    assert client.diagnostics == {}


@pytest.mark.asyncio
async def test_a_client_that_does_not_pull_gets_the_workspace_published(pushed):
    client = pushed
    assert client.initialized.capabilities.diagnostic_provider is None
    user = (client.workspace_path / "user.py").as_uri()
    call = (client.workspace_path / "call.py").as_uri()
    # After start, each file with findings is published, without a version.
    await until(lambda: user in client.diagnostics and call in client.diagnostics)
    assert sorted(named(client, uri) for uri in client.diagnostics) == ["call.py", "user.py"]
    assert [d.code for d in client.diagnostics[call]] == ["NMF001"]
    # Open documents are published as before, their text winning over the disk's.
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=user, language_id="python", version=1, text="x = 3\n")
        )
    )
    await until(lambda: list(client.diagnostics[user]) == [])
    # A file fixed on disk is cleared.
    (client.workspace_path / "call.py").write_text("x = 2\n")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=call, type=types.FileChangeType.Changed)]
        )
    )
    await until(lambda: list(client.diagnostics[call]) == [])
    assert client.diagnostic_refresh_count == 0
